/** Size of the firmware's bytecode image, and the share of its modules. */
import { readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { devs, projectRoot } from "../devs.ts"
import type { Figure } from "./figures.ts"

/** Builds `src/main.ts` and reports the image size and the crypto share. */
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
    return [
        {
            name: "firmware-bytecode",
            value: total,
            unit: "bytes",
            about: "src/main.ts image (bytecode.devs)",
        },
        {
            name: "hash-compress-bytecode",
            value: hashing,
            unit: "bytes",
            about: "unrolled md5Blocks + sha1Blocks in that image",
        },
    ]
}
