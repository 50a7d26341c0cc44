/**
 * Bytecode sizes: the firmware image, the share of the hash block
 * functions in it, and what the crypto module adds to any program.
 */
import { readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { buildFirmware } from "../lib/build.ts"
import { devs, projectRoot } from "../lib/devs.ts"
import type { Figure } from "./figures.ts"

const CRYPTO_PROGRAM = "test/device/bench/crypto-size.ts"
const BASELINE_PROGRAM = "test/device/bench/crypto-size-baseline.ts"

/** Builds `src/main.ts` and two small programs, and reports their sizes. */
export async function bytecodeFigures(): Promise<Figure[]> {
    const { code, output } = await devs(["build", "src/main.ts"])
    if (code !== 0) throw new Error(`devs build failed:\n${output}`)
    const bin = join(projectRoot, ".devicescript/bin")
    const total = statSync(join(bin, "bytecode.devs")).size
    // "| size | `name` |" rows of the compiler's per-function table
    const sizes = readFileSync(join(bin, "bytecode-sizes.md"), "utf8")
    let hashing = 0
    for (const m of sizes.matchAll(/^\s*(\d+) \| `(md5Blocks|sha1Blocks)`/gm))
        hashing += +m[1]
    // the same program with and without src/crypto: the difference is its
    // code, strings and tables, and the runtime library code only it uses
    const crypto = (await buildFirmware(CRYPTO_PROGRAM)).length
    const baseline = (await buildFirmware(BASELINE_PROGRAM)).length
    return [
        {
            name: "firmware-bytecode",
            value: total,
            unit: "bytes",
            about: "src/main.ts image (bytecode.devs)",
        },
        {
            name: "hash-blocks-bytecode",
            value: hashing,
            unit: "bytes",
            about: "md5Blocks + sha1Blocks (the block functions) in that image",
        },
        {
            name: "crypto-bytecode",
            value: crypto - baseline,
            unit: "bytes",
            about: `src/crypto: image of ${CRYPTO_PROGRAM} minus ${BASELINE_PROGRAM}`,
        },
    ]
}
