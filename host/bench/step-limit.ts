/**
 * The VM kills a program that runs about 128K bytecode steps without
 * yielding (InfiniteLoop). This finds how many blocks one MD5 or SHA-1 block
 * function call gets through after a yield before that happens, in the
 * simulator outside test mode, to check the hasher's blocks-per-yield
 * against it. One simulator session per algorithm: the probe ends in the
 * panic it measures.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { projectRoot } from "../lib/devs.ts"
import { startSim } from "../sim/index.ts"
import type { Figure } from "./figures.ts"

const ENTRY = "test/device/bench/step-limit.bench.ts"

/** Largest block count that ran to the end after one yield. */
async function blocksBeforeStepLimit(algo: "md5" | "sha1") {
    const sim = await startSim({
        entry: ENTRY,
        settings: { STEP_PROBE: algo },
        bootTimeoutMs: 90_000,
        waitForPortsMs: 300_000,
    })
    try {
        const end = await sim.waitForLine(
            /^Exception: InfiniteLoop|^STEP-LIMIT \S+ done$/,
            120_000
        )
        if (!end[0].startsWith("Exception"))
            throw new Error(`${algo}: the probe never reached the step limit`)
        let last = 0
        for (const line of sim.lines) {
            const m = /^STEP-LIMIT (\S+) (\d+)$/.exec(line)
            if (m && m[1] === algo) last = +m[2]
        }
        return last
    } finally {
        await sim.stop()
    }
}

export async function stepLimitFigures(): Promise<Figure[]> {
    const out: Figure[] = []
    for (const algo of ["md5", "sha1"] as const)
        out.push({
            name: `${algo}-blocks-to-limit`,
            value: await blocksBeforeStepLimit(algo),
            unit: "blocks",
            about: `${algo} blocks one call runs after a yield; one more trips InfiniteLoop`,
        })
    const hasher = readFileSync(
        join(projectRoot, "src/crypto/hasher.ts"),
        "utf8"
    )
    const chosen = /^const BLOCKS_PER_YIELD = (\d+)$/m.exec(hasher)
    if (!chosen) throw new Error("BLOCKS_PER_YIELD not found in hasher.ts")
    out.push({
        name: "blocks-per-yield",
        value: +chosen[1],
        unit: "blocks",
        about: "src/crypto/hasher.ts BLOCKS_PER_YIELD, counted across hashers",
    })
    return out
}
