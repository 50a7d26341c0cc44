/**
 * Hashing throughput of the firmware's byte-level MD5 and SHA-1 against the
 * runtime's native SHA-256, measured in the simulator outside test mode (test
 * mode collects garbage on every allocation).
 */
import { startSim } from "../sim/index.ts"
import { type Figure, parseBenchLines } from "./figures.ts"

const ENTRY = "test/device/bench/hashing.bench.ts"

const ABOUT: Record<string, string> = {
    "sha256-native": "native SHA-256 over 16 KB",
    sha1: "byte-level SHA-1 over 16 KB",
    md5: "byte-level MD5 over 16 KB",
    "sha1-vs-native": "SHA-1 time / native SHA-256 time",
    "md5-vs-native": "MD5 time / native SHA-256 time",
    "hmac-sha1-auth": "one HMAC-SHA1 of a 92-byte auth content",
    "hmac-md5-auth": "one HMAC-MD5 of a 92-byte auth content",
}

export async function hashingFigures(): Promise<Figure[]> {
    const sim = await startSim({
        entry: ENTRY,
        bootTimeoutMs: 90_000,
        waitForPortsMs: 300_000,
    })
    try {
        await sim.waitForLine(/^BENCH done$/, 120_000)
        const found = parseBenchLines(sim.lines)
        return Object.entries(ABOUT).map(([name, about]) => {
            const f = found.get(name)
            if (!f) throw new Error(`hashing benchmark did not report ${name}`)
            return { name, ...f, about }
        })
    } finally {
        await sim.stop()
    }
}
