/**
 * `npm run bench`: the project's performance figures, measured now on this
 * machine. Speed is measured here, never asserted in tests.
 */
import { bytecodeFigures } from "./bytecode.ts"
import { channelFigures } from "./channel.ts"
import { printFigures } from "./figures.ts"
import { hashingFigures } from "./hashing.ts"
import { stepLimitFigures } from "./step-limit.ts"

printFigures("Hashing (simulator, outside test mode)", await hashingFigures())
printFigures(
    "Step limit (simulator, outside test mode)",
    await stepLimitFigures()
)
printFigures(
    "Channel (firmware in the simulator against the emulator)",
    await channelFigures()
)
console.log(
    "  device heap: not measured: DeviceScript 2.16.4 gives a program no heap figures (the runtime's" +
        "\n  devs_dump_heap prints used/free only on out-of-memory, just before the panic)"
)
printFigures("Bytecode", await bytecodeFigures())
