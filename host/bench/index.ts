/**
 * `npm run bench [-- SECTION...]`: the project's performance figures,
 * measured now on this machine; sections `hashing`, `step-limit`,
 * `channel`, `bytecode` (default: all). Speed is measured here, never
 * asserted in tests.
 */
import { bytecodeFigures } from "./bytecode.ts"
import { channelFigures } from "./channel.ts"
import { printFigures } from "./figures.ts"
import { hashingFigures } from "./hashing.ts"
import { stepLimitFigures } from "./step-limit.ts"

const SECTIONS = ["hashing", "step-limit", "channel", "bytecode"]
const asked = process.argv.slice(2)
const unknown = asked.filter(a => !SECTIONS.includes(a))
if (unknown.length) {
    console.error(
        `bench: unknown section(s) ${unknown.join(", ")}; sections: ${SECTIONS.join(", ")}`
    )
    process.exit(2)
}
const run = (s: string) => !asked.length || asked.includes(s)

if (run("hashing"))
    printFigures(
        "Hashing (simulator, outside test mode)",
        await hashingFigures()
    )
if (run("step-limit"))
    printFigures(
        "Step limit (simulator, outside test mode)",
        await stepLimitFigures()
    )
if (run("channel")) {
    printFigures(
        "Channel (firmware in the simulator against the emulator)",
        await channelFigures()
    )
    console.log(
        "  device heap: not measured: DeviceScript 2.16.4 gives a program no heap figures (the runtime's" +
            "\n  devs_dump_heap prints used/free only on out-of-memory, just before the panic)"
    )
}
if (run("bytecode")) printFigures("Bytecode", await bytecodeFigures())
