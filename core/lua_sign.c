/* TEMPORARY stub: the Huawei signer binding is being written. */
#include "pl_lua.h"

void pl_open_sign(lua_State *L) {
  (void)L;
}
