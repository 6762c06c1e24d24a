/* SPDX-License-Identifier: MIT */
/* placeholder: being written */
#include "tests/tap.h"

int
main(void)
{
    TAP_OK(1, "placeholder");
    return done_testing();
}
