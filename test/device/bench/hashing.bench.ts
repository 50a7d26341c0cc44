/**
 * Hashing benchmark, run by `npm run bench` in the simulator outside test
 * mode. Prints `BENCH <name> <value> <unit>` lines, then `BENCH done`.
 */
import * as ds from "@devicescript/core"
import { digest } from "@devicescript/crypto"
import { hmac, md5, sha1 } from "../../../src/crypto"

const INPUT_BYTES = 16384
const AUTH_CONTENT =
    "clientIda1GFjLP3xxC.device123deviceNamedevice123productKeya1GFjLP3xxCtimestamp1764121079000"

function report(name: string, value: number, unit: string) {
    console.log(`BENCH ${name} ${value} ${unit}`)
}

/** Best of `rounds` timings of `reps` calls, in ms per call. */
async function time(rounds: number, reps: number, body: () => Promise<void>) {
    let best = Infinity
    for (let r = 0; r < rounds; ++r) {
        await ds.sleep(1)
        const start = ds.millis()
        for (let i = 0; i < reps; ++i) await body()
        best = Math.min(best, (ds.millis() - start) / reps)
    }
    return best
}

function kbPerSecond(msPerCall: number) {
    return Math.round((INPUT_BYTES / 1024 / msPerCall) * 1000)
}

async function main() {
    const input = Buffer.alloc(INPUT_BYTES)
    for (let i = 0; i < INPUT_BYTES; ++i) {
        input[i] = (i * 31 + 7) & 0xff
        if ((i & 1023) === 0) await ds.sleep(0) // the VM's step budget
    }
    await ds.sleep(500)
    // the VM's clock only moves when the program yields, so every timed
    // call ends with a yield; 10 native digests per yield keep that cost ~1%
    const nativeMs =
        (await time(5, 20, async () => {
            for (let i = 0; i < 10; ++i) digest("sha256", input)
            await ds.sleep(0)
        })) / 10
    const sha1Ms = await time(3, 2, async () => {
        await sha1(input)
    })
    const md5Ms = await time(3, 2, async () => {
        await md5(input)
    })
    report("sha256-native", kbPerSecond(nativeMs), "KB/s")
    report("sha1", kbPerSecond(sha1Ms), "KB/s")
    report("md5", kbPerSecond(md5Ms), "KB/s")
    report("sha1-vs-native", Math.round(sha1Ms / nativeMs), "x")
    report("md5-vs-native", Math.round(md5Ms / nativeMs), "x")
    const hmacSha1Ms = await time(3, 20, async () => {
        await hmac("sha1", "device-secret-0123456789abcdef", AUTH_CONTENT)
    })
    const hmacMd5Ms = await time(3, 20, async () => {
        await hmac("md5", "device-secret-0123456789abcdef", AUTH_CONTENT)
    })
    report("hmac-sha1-auth", Math.round(hmacSha1Ms * 100) / 100, "ms")
    report("hmac-md5-auth", Math.round(hmacMd5Ms * 100) / 100, "ms")
    console.log("BENCH done")
}

await main()
