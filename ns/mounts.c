/* SPDX-License-Identifier: MIT */
/* placeholder: being written */
#include "ns/ns.h"
