/* SPDX-License-Identifier: MIT */
/* Unit tests: the pure cgroupfs parsers on real texts of each layout (pure
 * v2, hybrid, a cgroup namespace's view, v1 only), plus malformed inputs
 * and the path arithmetic between hierarchies. No I/O. */
#include "cgroupfs/cgroupfs.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests/tap.h"

/* The hybrid host these tests were written on (Linux 6.18, Firecracker):
 * "/" is listed after /proc and /sys, and cpu and cpuacct are separate. */
static const char hybrid_mountinfo[] =
        "21 26 0:20 / /proc rw,relatime - proc proc rw\n"
        "22 26 0:21 / /sys rw,relatime - sysfs sysfs rw\n"
        "23 26 0:6 / /dev rw,relatime - devtmpfs devtmpfs "
        "rw,size=12334448k,nr_inodes=3083612,mode=755\n"
        "24 23 0:22 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683620k\n"
        "25 23 0:23 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000\n"
        "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resuid=65534,resgid=65534\n"
        "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
        "33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
        "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
        "36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
        "37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
        "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
        "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
        "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static const char hybrid_cgroup[] = "9:name=systemd:/\n"
                                    "8:pids:/\n"
                                    "7:blkio:/\n"
                                    "6:freezer:/\n"
                                    "5:devices:/\n"
                                    "4:memory:/process_api/300759ce5467fb14957d1efb7e2ef0e8\n"
                                    "3:cpuset:/\n"
                                    "2:cpuacct:/\n"
                                    "1:cpu:/\n"
                                    "0::/\n";

/* Debian 12 with systemd: pure v2 at /sys/fs/cgroup, optional fields. */
static const char v2_mountinfo[] =
        "22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
        "23 28 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
        "24 28 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev "
        "rw,size=4015536k,nr_inodes=1003884,mode=755,inode64\n"
        "25 24 0:23 / /dev/pts rw,nosuid,noexec,relatime shared:3 - devpts devpts "
        "rw,gid=5,mode=620,ptmxmode=000\n"
        "26 28 0:24 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs "
        "rw,size=807416k,mode=755,inode64\n"
        "28 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
        "29 22 0:6 / /sys/kernel/security rw,nosuid,nodev,noexec,relatime shared:8 - "
        "securityfs securityfs rw\n"
        "32 22 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 "
        "cgroup2 rw,nsdelegate,memory_recursiveprot\n"
        "33 22 0:28 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:10 - pstore "
        "pstore rw\n"
        "34 22 0:29 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:11 - bpf bpf "
        "rw,mode=700\n";

static const char v2_cgroup[] = "0::/user.slice/user-1000.slice/session-3.scope\n";

/* Docker 24 on a v2 host: private cgroup namespace, cgroup2 read-only. */
static const char ns_mountinfo[] =
        "612 534 0:52 / / rw,relatime master:290 - overlay overlay "
        "rw,lowerdir=/var/lib/docker/overlay2/l/ABC:/var/lib/docker/overlay2/l/DEF,"
        "upperdir=/var/lib/docker/overlay2/123/diff,workdir=/var/lib/docker/overlay2/123/work\n"
        "613 612 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
        "614 612 0:56 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64\n"
        "615 614 0:57 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts "
        "rw,gid=5,mode=620,ptmxmode=666\n"
        "616 612 0:58 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro\n"
        "617 616 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup "
        "rw,nsdelegate,memory_recursiveprot\n"
        "618 614 0:54 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw\n"
        "620 612 8:1 /var/lib/docker/containers/abc/resolv.conf /etc/resolv.conf "
        "rw,relatime - ext4 /dev/sda1 rw,errors=remount-ro\n";

static const char ns_cgroup[] = "0::/\n";

/* Docker on a CentOS 7 host: v1 only, no cgroup namespace, so each mount's
 * root is the container's cgroup; cpu and cpuacct share a hierarchy. */
static const char v1_mountinfo[] =
        "1890 1872 0:118 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w\n"
        "1891 1890 0:121 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
        "1894 1890 0:124 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro\n"
        "1895 1894 0:125 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - tmpfs tmpfs "
        "rw,mode=755\n"
        "1896 1895 0:25 /docker/0a1b2c /sys/fs/cgroup/systemd ro,nosuid,nodev,noexec,relatime "
        "master:9 - cgroup cgroup "
        "rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd\n"
        "1897 1895 0:28 /docker/0a1b2c /sys/fs/cgroup/cpu,cpuacct "
        "ro,nosuid,nodev,noexec,relatime master:10 - cgroup cgroup rw,cpuacct,cpu\n"
        "1898 1895 0:29 /docker/0a1b2c /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime "
        "master:11 - cgroup cgroup rw,memory\n"
        "1899 1895 0:30 /docker/0a1b2c /sys/fs/cgroup/pids ro,nosuid,nodev,noexec,relatime "
        "master:12 - cgroup cgroup rw,pids\n"
        "1900 1895 0:31 /docker/0a1b2c /sys/fs/cgroup/freezer ro,nosuid,nodev,noexec,relatime "
        "master:13 - cgroup cgroup rw,freezer\n";

static const char v1_cgroup[] = "11:freezer:/docker/0a1b2c\n"
                                "10:pids:/docker/0a1b2c\n"
                                "9:memory:/docker/0a1b2c\n"
                                "4:cpu,cpuacct:/docker/0a1b2c\n"
                                "1:name=systemd:/docker/0a1b2c\n";

/* CentOS 7 host with systemd, a login shell: v1 only, roots "/". */
static const char v1host_cgroup[] =
        "11:cpuset:/\n10:freezer:/\n9:memory:/user.slice\n8:pids:/user.slice\n"
        "7:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice/user-1000.slice/session-1.scope\n";

static void
test_hybrid(void)
{
    struct cg_mounts m;
    struct cg_self s;
    struct mi_err e = {0};
    char rel[CG_PATH_MAX];

    CHECK_INT(cg_parse_mountinfo(hybrid_mountinfo, &m, &e), 0, "hybrid: mountinfo parses");
    TAP_OK(m.v2.present, "hybrid: cgroup2 found");
    CHECK_STR(m.v2.path, "/sys/fs/cgroup/unified", "hybrid: cgroup2 at .../unified");
    CHECK_STR(m.v2.root, "/", "hybrid: cgroup2 root /");
    CHECK_STR(m.v1[CG_CTRL_MEMORY].path, "/sys/fs/cgroup/memory", "hybrid: v1 memory");
    CHECK_STR(m.v1[CG_CTRL_PIDS].path, "/sys/fs/cgroup/pids", "hybrid: v1 pids");
    CHECK_STR(m.v1[CG_CTRL_CPU].path, "/sys/fs/cgroup/cpu", "hybrid: v1 cpu alone");
    CHECK_STR(m.v1[CG_CTRL_CPUACCT].path, "/sys/fs/cgroup/cpuacct", "hybrid: v1 cpuacct alone");
    CHECK_STR(m.v1[CG_CTRL_FREEZER].path, "/sys/fs/cgroup/freezer", "hybrid: v1 freezer");

    CHECK_INT(cg_parse_proc_cgroup(hybrid_cgroup, &s, &e), 0, "hybrid: /proc/self/cgroup parses");
    TAP_OK(s.has_v2, "hybrid: 0:: line");
    CHECK_STR(s.v2, "/", "hybrid: own v2 cgroup /");
    CHECK_STR(s.v1[CG_CTRL_MEMORY], "/process_api/300759ce5467fb14957d1efb7e2ef0e8",
              "hybrid: own v1 memory cgroup");
    TAP_OK(s.has_v1[CG_CTRL_FREEZER] && s.has_v1[CG_CTRL_CPUACCT], "hybrid: freezer, cpuacct");
    CHECK_INT(cg_rel_path(m.v1[CG_CTRL_MEMORY].root, s.v1[CG_CTRL_MEMORY], rel, sizeof(rel), &e), 0,
              "hybrid: memory path relative to its mount");
    CHECK_STR(rel, "process_api/300759ce5467fb14957d1efb7e2ef0e8", "hybrid: relative memory path");
    CHECK_INT(cg_rel_path(m.v2.root, s.v2, rel, sizeof(rel), &e), 0, "hybrid: v2 relative");
    CHECK_STR(rel, "", "hybrid: own v2 cgroup is the mount's root");
}

static void
test_pure_v2(void)
{
    struct cg_mounts m;
    struct cg_self s;
    struct mi_err e = {0};
    char rel[CG_PATH_MAX];

    CHECK_INT(cg_parse_mountinfo(v2_mountinfo, &m, &e), 0, "v2: mountinfo parses");
    CHECK_STR(m.v2.path, "/sys/fs/cgroup", "v2: cgroup2 at /sys/fs/cgroup");
    TAP_OK(!m.v1[CG_CTRL_MEMORY].present && !m.v1[CG_CTRL_FREEZER].present, "v2: no v1 mounts");
    CHECK_INT(cg_parse_proc_cgroup(v2_cgroup, &s, &e), 0, "v2: /proc/self/cgroup parses");
    CHECK_STR(s.v2, "/user.slice/user-1000.slice/session-3.scope", "v2: own cgroup");
    TAP_OK(!s.has_v1[CG_CTRL_MEMORY], "v2: no v1 lines");
    cg_rel_path(m.v2.root, s.v2, rel, sizeof(rel), &e);
    CHECK_STR(rel, "user.slice/user-1000.slice/session-3.scope", "v2: relative own cgroup");
}

static void
test_cgroupns(void)
{
    struct cg_mounts m;
    struct cg_self s;
    struct mi_err e = {0};
    char rel[CG_PATH_MAX] = "x";

    CHECK_INT(cg_parse_mountinfo(ns_mountinfo, &m, &e), 0, "ns: mountinfo parses");
    CHECK_STR(m.v2.path, "/sys/fs/cgroup", "ns: cgroup2 (source 'cgroup') at /sys/fs/cgroup");
    CHECK_STR(m.v2.root, "/", "ns: mounted inside the namespace: root /");
    CHECK_INT(cg_parse_proc_cgroup(ns_cgroup, &s, &e), 0, "ns: /proc/self/cgroup parses");
    CHECK_STR(s.v2, "/", "ns: own cgroup is the namespace root");
    CHECK_INT(cg_rel_path(m.v2.root, s.v2, rel, sizeof(rel), &e), 0, "ns: relative path");
    CHECK_STR(rel, "", "ns: own cgroup is the mount's root");
    /* The host's hierarchy seen from inside a cgroup namespace. */
    CHECK_INT(cg_rel_path("/..", "/", rel, sizeof(rel), &e), -1, "ns: host mount root /.. refused");
    CHECK_CONTAINS(e.msg, "outside the mount's root", "ns: message says why");
}

static void
test_v1_only(void)
{
    struct cg_mounts m;
    struct cg_self s;
    struct mi_err e = {0};
    char rel[CG_PATH_MAX];

    CHECK_INT(cg_parse_mountinfo(v1_mountinfo, &m, &e), 0, "v1: mountinfo parses");
    TAP_OK(!m.v2.present, "v1: no cgroup2");
    CHECK_STR(m.v1[CG_CTRL_CPU].path, "/sys/fs/cgroup/cpu,cpuacct", "v1: cpu in cpu,cpuacct");
    CHECK_STR(m.v1[CG_CTRL_CPUACCT].path, "/sys/fs/cgroup/cpu,cpuacct", "v1: cpuacct shares it");
    CHECK_STR(m.v1[CG_CTRL_FREEZER].root, "/docker/0a1b2c", "v1: freezer root is the container");
    CHECK_INT(cg_parse_proc_cgroup(v1_cgroup, &s, &e), 0, "v1: /proc/self/cgroup parses");
    TAP_OK(!s.has_v2, "v1: no 0:: line");
    CHECK_STR(s.v1[CG_CTRL_CPUACCT], "/docker/0a1b2c", "v1: cpu,cpuacct line fills both");
    CHECK_INT(cg_rel_path(m.v1[CG_CTRL_MEMORY].root, s.v1[CG_CTRL_MEMORY], rel, sizeof(rel), &e), 0,
              "v1: container cgroup relative to its mount");
    CHECK_STR(rel, "", "v1: it is the mount's root");
    CHECK_INT(cg_parse_proc_cgroup(v1host_cgroup, &s, &e), 0, "v1 host: parses");
    CHECK_STR(s.v1[CG_CTRL_PIDS], "/user.slice", "v1 host: pids");
    CHECK_STR(s.v1[CG_CTRL_FREEZER], "/", "v1 host: freezer");
}

/* Mounts stacked over others hide them, whatever the file's order. */
static void
test_hiding(void)
{
    char buf[4096];
    struct cg_mounts m;
    struct mi_err e = {0};

    snprintf(buf, sizeof(buf), "%s%s", hybrid_mountinfo,
             "41 30 0:40 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw\n");
    CHECK_INT(cg_parse_mountinfo(buf, &m, &e), 0, "hide: tmpfs over /sys/fs/cgroup parses");
    TAP_OK(!m.v2.present && !m.v1[CG_CTRL_MEMORY].present, "hide: everything below is hidden");

    snprintf(buf, sizeof(buf), "%s%s", v2_mountinfo,
             "50 32 0:60 /sub /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    cg_parse_mountinfo(buf, &m, &e);
    CHECK_STR(m.v2.root, "/sub", "hide: a cgroup2 stacked on cgroup2 wins");

    /* The stacked mount listed first: the tree decides, not the order. */
    snprintf(buf, sizeof(buf), "%s%s", "50 32 0:60 /sub /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
             v2_mountinfo);
    cg_parse_mountinfo(buf, &m, &e);
    CHECK_STR(m.v2.root, "/sub", "hide: order of lines does not matter");

    snprintf(buf, sizeof(buf), "%s%s", v2_mountinfo,
             "51 28 0:61 / /mnt/my\\040cg rw - cgroup cgroup rw,freezer\n");
    cg_parse_mountinfo(buf, &m, &e);
    CHECK_STR(m.v1[CG_CTRL_FREEZER].path, "/mnt/my cg", "escape: \\040 is a space");
}

static void
test_malformed(void)
{
    struct cg_mounts m;
    struct cg_self s;
    struct mi_err e = {0};

    CHECK_INT(cg_parse_mountinfo("", &m, &e), 0, "empty mountinfo: no mounts, no error");
    TAP_OK(!m.v2.present, "empty mountinfo: nothing found");
    CHECK_INT(cg_parse_mountinfo("40 30 0:37 / /sys/fs/cgroup rw cgroup2 cgroup2 rw\n", &m, &e), -1,
              "mountinfo without ' - ' is refused");
    CHECK_CONTAINS(e.msg, "line 1", "the message names the line");
    CHECK_INT(cg_parse_mountinfo("21 26 0:20 / /proc rw - proc proc rw\nx 30 0:37 / /a rw - "
                                 "cgroup2 cgroup2 rw\n",
                                 &m, &e),
              -1, "non-numeric mount id is refused");
    CHECK_CONTAINS(e.msg, "line 2", "second line named");
    CHECK_INT(cg_parse_mountinfo("40 30 0:37 / rel rw - cgroup2 cgroup2 rw\n", &m, &e), -1,
              "relative mount point is refused");
    CHECK_INT(cg_parse_mountinfo("40 30 0:37 / /a rw - cgroup2\n", &m, &e), -1,
              "missing source and options are refused");
    CHECK_INT(cg_parse_proc_cgroup("garbage\n", &s, &e), -1, "cgroup line without ':'");
    CHECK_INT(cg_parse_proc_cgroup("4:memory\n", &s, &e), -1, "cgroup line with one ':'");
    CHECK_INT(cg_parse_proc_cgroup("x::/\n", &s, &e), -1, "cgroup line, non-numeric id");
    CHECK_INT(cg_parse_proc_cgroup("0::relative\n", &s, &e), -1, "cgroup path not absolute");
    CHECK_INT(cg_parse_proc_cgroup("0::/a:b\n", &s, &e), 0, "a ':' inside the path is fine");
    CHECK_STR(s.v2, "/a:b", "path with ':' kept whole");
    CHECK_INT(cg_parse_proc_cgroup("", &s, &e), 0, "empty /proc/self/cgroup parses");
    TAP_OK(!s.has_v2, "empty: nothing found");
}

static void
test_events(void)
{
    bool p = false;
    bool f = true;
    struct mi_err e = {0};

    CHECK_INT(cg_parse_events("populated 1\nfrozen 0\n", &p, &f, &e), 0, "events parse");
    TAP_OK(p && !f, "populated 1 frozen 0");
    CHECK_INT(cg_parse_events("populated 0\nfrozen 1\n", &p, &f, &e), 0, "events parse 2");
    TAP_OK(!p && f, "populated 0 frozen 1");
    CHECK_INT(cg_parse_events("populated 1\n", &p, &f, &e), 0, "pre-5.2 events (no frozen)");
    TAP_OK(p && !f, "no frozen line reads as not frozen");
    CHECK_INT(cg_parse_events("frozen 1\n", &p, &f, &e), -1, "no populated line is an error");
    CHECK_INT(cg_parse_events("populated 2\nfrozen 0\n", &p, &f, &e), -1, "populated 2 refused");
    CHECK_INT(cg_parse_events("populated 1\nfrozen x\n", &p, &f, &e), -1, "frozen x refused");
    CHECK_INT(cg_parse_events("", &p, &f, &e), -1, "empty events refused");
}

static void
test_keyed(void)
{
    uint64_t v = 0;
    struct mi_err e = {0};
    static const char memory_events[] = "low 0\nhigh 0\nmax 12\noom 1\noom_kill 3\n"
                                        "oom_group_kill 0\n";
    static const char oom_control[] = "oom_kill_disable 0\nunder_oom 0\noom_kill 7\n";
    static const char cpu_stat[] = "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n"
                                   "core_sched.force_idle_usec 0\nnr_periods 0\nnr_throttled 0\n"
                                   "throttled_usec 0\nnr_bursts 0\nburst_usec 0\n";

    CHECK_INT(cg_parse_oom_kill(memory_events, &v, &e), 0, "memory.events parses");
    CHECK_INT(v, 3, "memory.events oom_kill (not oom_group_kill)");
    CHECK_INT(cg_parse_oom_kill(oom_control, &v, &e), 0, "memory.oom_control parses");
    CHECK_INT(v, 7, "oom_control oom_kill (not oom_kill_disable)");
    CHECK_INT(cg_parse_oom_kill("oom_kill_disable 0\nunder_oom 0\n", &v, &e), -1,
              "oom_control before 4.13 has no oom_kill");
    CHECK_INT(cg_parse_cpu_stat(cpu_stat, &v, &e), 0, "cpu.stat parses");
    CHECK_INT(v, 123456, "cpu.stat usage_usec");
    CHECK_INT(cg_parse_cpu_stat("usage_usec abc\n", &v, &e), -1, "bad number refused");
    CHECK_INT(cg_parse_keyed("a 1\nb max\n", "b", &v, &e), 0, "keyed max");
    TAP_OK(v == UINT64_MAX, "max reads as UINT64_MAX");
    CHECK_INT(cg_parse_cpuacct_usage("4634317863185\n", &v, &e), 0, "cpuacct.usage parses");
    CHECK_INT(v, 4634317863, "cpuacct.usage in microseconds");
    CHECK_INT(cg_parse_u64("12345\n", &v, &e), 0, "u64 parses");
    CHECK_INT(v, 12345, "u64 value");
    CHECK_INT(cg_parse_u64("max\n", &v, &e), 0, "u64 max");
    TAP_OK(v == UINT64_MAX, "u64 max is UINT64_MAX");
    CHECK_INT(cg_parse_u64("12abc\n", &v, &e), -1, "u64 junk refused");
    CHECK_INT(cg_parse_u64("", &v, &e), -1, "u64 empty refused");
    CHECK_INT(cg_parse_u64("1\n2\n", &v, &e), -1, "u64 two lines refused");
    CHECK_INT(cg_parse_u64("99999999999999999999999\n", &v, &e), -1, "u64 overflow refused");
}

static void
test_controllers_freezer_cpu(void)
{
    unsigned mask = 99;
    enum cg_freezer_state st;
    int64_t q = 0;
    uint64_t per = 0;
    struct mi_err e = {0};

    CHECK_INT(cg_parse_controllers("cpuset cpu io memory hugetlb pids rdma misc\n", &mask, &e), 0,
              "controllers parse");
    CHECK_INT(mask, CG_MASK(CG_CTRL_CPU) | CG_MASK(CG_CTRL_MEMORY) | CG_MASK(CG_CTRL_PIDS),
              "memory pids cpu found, others ignored");
    cg_parse_controllers("hugetlb\n", &mask, &e);
    CHECK_INT(mask, 0, "hybrid's cgroup2 (hugetlb only): none");
    cg_parse_controllers("", &mask, &e);
    CHECK_INT(mask, 0, "empty subtree_control: none");

    CHECK_INT(cg_parse_freezer_state("FROZEN\n", &st, &e), 0, "FROZEN");
    CHECK_INT(st, CG_FREEZER_FROZEN, "FROZEN state");
    cg_parse_freezer_state("FREEZING\n", &st, &e);
    CHECK_INT(st, CG_FREEZER_FREEZING, "FREEZING state");
    cg_parse_freezer_state("THAWED\n", &st, &e);
    CHECK_INT(st, CG_FREEZER_THAWED, "THAWED state");
    CHECK_INT(cg_parse_freezer_state("FROZ\n", &st, &e), -1, "bad freezer state refused");

    CHECK_INT(cg_parse_cpu_max("50000 100000", &q, &per, &e), 0, "cpu_max QUOTA PERIOD");
    TAP_OK(q == 50000 && per == 100000, "cpu_max 50000 100000");
    cg_parse_cpu_max("max", &q, &per, &e);
    TAP_OK(q == -1 && per == 100000, "cpu_max max: -1, default period");
    cg_parse_cpu_max("max 200000", &q, &per, &e);
    TAP_OK(q == -1 && per == 200000, "cpu_max max PERIOD");
    cg_parse_cpu_max("25000", &q, &per, &e);
    TAP_OK(q == 25000 && per == 100000, "cpu_max QUOTA alone");
    CHECK_INT(cg_parse_cpu_max("", &q, &per, &e), -1, "cpu_max empty refused");
    CHECK_INT(cg_parse_cpu_max("999", &q, &per, &e), -1, "cpu_max quota < 1000 refused");
    CHECK_INT(cg_parse_cpu_max("50000 100", &q, &per, &e), -1, "cpu_max period < 1000 refused");
    CHECK_INT(cg_parse_cpu_max("1 2 3", &q, &per, &e), -1, "cpu_max three words refused");
    CHECK_INT(cg_parse_cpu_max("abc", &q, &per, &e), -1, "cpu_max word refused");
}

static void
test_paths(void)
{
    char out[CG_PATH_MAX];
    struct mi_err e = {0};

    cg_rel_path("/", "/a/b", out, sizeof(out), &e);
    CHECK_STR(out, "a/b", "rel: under /");
    cg_rel_path("/docker/x", "/docker/x/y", out, sizeof(out), &e);
    CHECK_STR(out, "y", "rel: under a container root");
    CHECK_INT(cg_rel_path("/docker/x", "/docker/xy", out, sizeof(out), &e), -1,
              "rel: sibling with a common prefix refused");
    CHECK_INT(cg_rel_path("/a", "/", out, sizeof(out), &e), -1, "rel: above the root refused");
    CHECK_INT(cg_rel_path("/", "/aaaa", out, 4, &e), -1, "rel: too long refused");

    cg_mirror_path("", "process_api/h", "minit-test-1/services/web", out, sizeof(out), &e);
    CHECK_STR(out, "process_api/h/minit-test-1/services/web", "mirror: under own v1 cgroup");
    cg_mirror_path("user.slice/s.scope", "user.slice", "user.slice/s.scope/minit/services/w", out,
                   sizeof(out), &e);
    CHECK_STR(out, "user.slice/minit/services/w", "mirror: keeps its place below self");
    cg_mirror_path("user.slice/s.scope", "user.slice", "elsewhere/x", out, sizeof(out), &e);
    CHECK_STR(out, "elsewhere/x", "mirror: explicit path kept as it is");
    cg_mirror_path("a", "", "a", out, sizeof(out), &e);
    CHECK_STR(out, "", "mirror: self maps to self");
    cg_mirror_path("a", "", "ab/c", out, sizeof(out), &e);
    CHECK_STR(out, "ab/c", "mirror: common prefix is not 'below'");

    cg_resolve_base("", "auto", false, out, sizeof(out), &e);
    CHECK_STR(out, "minit", "base: auto below the root");
    cg_resolve_base("", "auto", true, out, sizeof(out), &e);
    CHECK_STR(out, "", "base: auto as a container's PID 1 is its own cgroup");
    cg_resolve_base("system.slice/x.service", "auto", false, out, sizeof(out), &e);
    CHECK_STR(out, "system.slice/x.service/minit", "base: auto below a service");
    cg_resolve_base("x", "/foo/bar/", false, out, sizeof(out), &e);
    CHECK_STR(out, "foo/bar", "base: explicit, slashes trimmed");
    CHECK_INT(cg_resolve_base("", "../x", false, out, sizeof(out), &e), -1, "base: .. refused");
    CHECK_INT(cg_resolve_base("", "a//b", false, out, sizeof(out), &e), -1, "base: a//b refused");
    CHECK_INT(cg_resolve_base("", "a/./b", false, out, sizeof(out), &e), -1, "base: . refused");
    CHECK_INT(cg_resolve_base("", "/", false, out, sizeof(out), &e), -1, "base: / refused");
    CHECK_STR(cg_ctrl_name(CG_CTRL_CPUACCT), "cpuacct", "controller names");
}

int
main(void)
{
    test_hybrid();
    test_pure_v2();
    test_cgroupns();
    test_v1_only();
    test_hiding();
    test_malformed();
    test_events();
    test_keyed();
    test_controllers_freezer_cpu();
    test_paths();
    return done_testing();
}
