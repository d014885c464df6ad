/* A stand-alone driver for the emulator server: `emu_main [--emulator]
 * [options]` is `peerlua --emulator [options]`. */
#include "server.h"

int main(int argc, char **argv) {
  return pl_emulator_main(argc, argv);
}
