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
printFigures("Bytecode", await bytecodeFigures())
