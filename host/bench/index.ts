/**
 * `npm run bench`: the project's performance figures, measured now on this
 * machine. Speed is measured here, never asserted in tests.
 */
import { bytecodeFigures } from "./bytecode.ts"
import { channelFigures } from "./channel.ts"
import { printFigures } from "./figures.ts"
import { hashingFigures } from "./hashing.ts"

printFigures("Hashing (simulator, outside test mode)", await hashingFigures())
printFigures(
    "Channel (firmware in the simulator against the emulator)",
    await channelFigures()
)
printFigures("Bytecode", await bytecodeFigures())
