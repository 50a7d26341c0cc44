/**
 * `npm run bench [-- SECTION...]`: the project's performance figures,
 * measured now on this machine; sections `hashing`, `step-limit`,
 * `channel`, `battery`, `bytecode` (default: all of these), and `fleet`,
 * only when asked (it takes minutes): `npm run bench -- fleet --devices N
 * [--db URL] [--instances N] [--max-deploys K]`.
 * Speed is measured here, never asserted in tests.
 */
import { readCommandLine } from "../lib/args.ts"
import { BENCH_COMMAND, DEFAULT_SECTIONS, SECTIONS } from "./command.ts"
import { batteryFigures } from "./battery.ts"
import { bytecodeFigures } from "./bytecode.ts"
import { channelFigures } from "./channel.ts"
import { printFigures } from "./figures.ts"
import { fleetFigures } from "./fleet.ts"
import { hashingFigures } from "./hashing.ts"
import { stepLimitFigures } from "./step-limit.ts"

const { values: o, positionals } = readCommandLine(BENCH_COMMAND, "bench")
const asked: string[] = positionals
const unknown = asked.filter(a => !SECTIONS.includes(a))
if (unknown.length) {
    console.error(
        `bench: unknown section(s) ${unknown.join(", ")}; sections: ${SECTIONS.join(", ")}`
    )
    process.exit(2)
}
/** Option `--name`'s value as a whole number >= min, or exit 2 saying why. */
function wholeNumber(name: string, value: string | undefined, min: number) {
    const v = Number(value)
    if (Number.isInteger(v) && v >= min) return v
    console.error(`bench: --${name} ${value}: a whole number >= ${min}`)
    process.exit(2)
}
const run = (s: string) =>
    asked.length ? asked.includes(s) : DEFAULT_SECTIONS.includes(s)

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
if (run("battery"))
    printFigures(
        "Battery mode (firmware in the simulator, deep sleep emulated by the harness)",
        await batteryFigures()
    )
if (run("bytecode")) printFigures("Bytecode", await bytecodeFigures())
if (run("fleet")) {
    const devices = wholeNumber("devices", o.devices, 1)
    const instances = wholeNumber("instances", o.instances, 1)
    const maxDeploys =
        o["max-deploys"] === undefined
            ? undefined
            : wholeNumber("max-deploys", o["max-deploys"], 0)
    const r = await fleetFigures({
        devices,
        db: o.db,
        instances,
        maxDeploys,
        serviceNodeFlags: process.env.BENCH_SERVICE_NODE_FLAGS?.split(" "),
        log: l =>
            console.log(`  ${new Date().toISOString().slice(11, 19)} ${l}`),
    })
    printFigures(
        `Fleet service (fleet serve as its own process${instances > 1 ? `, ${instances} instances` : ""}, ${devices} fake devices)`,
        r.figures
    )
    console.log(`\n  docs/performance.md row: ${r.tableRow}`)
}
