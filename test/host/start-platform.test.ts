/**
 * `npm start -- --platform URL`: the simulated firmware against an endpoint
 * it did not start, the way a user tries a device from the real platform's
 * console before flashing a board. Here the endpoint is a second emulator,
 * started as its own process with `npm run platform`, as a user would.
 */
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { projectRoot } from "../../host/lib/devs.ts"
import { WAIT_FOR_PORTS_MS } from "./e2e-helpers.ts"
import { readingsOf } from "../../host/firmware.ts"
import {
    startPlatformCli,
    type PlatformProcess,
} from "./platform-cli-process.ts"

const DEVICE = "a1ExtProd01/ext-device-1/extSecret0123456789abcdef012345"
const SECRET = DEVICE.split("/")[2]

let dir: string
let emulator: PlatformProcess
let url = ""
let caFile = ""
let adminUrl = ""

/** Runs `npm start -- ARGS` as its own process; resolves with its exit code and output. */
function npmStart(args: string[], timeoutMs: number) {
    return new Promise<{ code: number | null; out: string }>(resolve => {
        const child = spawn("npm", ["start", "--silent", "--", ...args], {
            cwd: projectRoot,
            stdio: ["ignore", "pipe", "pipe"],
            detached: true,
        })
        let out = ""
        child.stdout!.on("data", d => (out += d))
        child.stderr!.on("data", d => (out += d))
        const timer = setTimeout(
            () => process.kill(-child.pid!, "SIGTERM"),
            timeoutMs
        )
        child.on("exit", code => {
            clearTimeout(timer)
            resolve({ code, out })
        })
    })
}

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "start-platform-"))
    emulator = await startPlatformCli([
        "--port",
        "0",
        "--device",
        DEVICE,
        "--state",
        dir,
        "--quiet",
    ])
    assert.ok(emulator.url, emulator.output())
    ;[url, caFile, adminUrl] = [
        emulator.url,
        emulator.caFile,
        emulator.adminUrl,
    ]
})

after(async () => {
    await emulator?.stop()
    rmSync(dir, { recursive: true, force: true })
})

test("the simulated device reports to an endpoint it did not start, counting its own accepted lines", async () => {
    const deviceFile = join(dir, "device.txt")
    writeFileSync(deviceFile, DEVICE + "\n", { mode: 0o600 })
    const { code, out } = await npmStart(
        [
            "--platform",
            url,
            "--ca",
            caFile,
            "--device-file",
            deviceFile,
            "--readings",
            "3",
            "--period",
            "1000",
            "--fresh",
        ],
        WAIT_FOR_PORTS_MS + 120_000
    )
    assert.equal(code, 0, out)
    // the version report, from the device's own line for it
    assert.match(out, /^version: v\d+\.\d+\.\d+\S*$/m)
    assert.ok(!out.includes(SECRET), "the secret is never printed")
    const messages = (await (await fetch(`${adminUrl}/messages`)).json()) as {
        messageId: string
        base64: string
    }[]
    const held = messages.reduce(
        (n, m) => n + readingsOf(Buffer.from(m.base64, "base64")).length,
        0
    )
    assert.ok(held >= 3, "the other emulator holds the readings")
    // one line per message: `accepted #n` or, for a backfill batch (readings
    // queued while the device authenticated), `accepted #n..#m`
    const lines = [
        ...out.matchAll(
            /accepted #(\d+)(?:\.\.#(\d+))? messageId=(\d{18,20}) /g
        ),
    ]
    const counted: number[] = []
    for (const [, from, to, id] of lines) {
        for (let n = +from; n <= +(to ?? from); n++) counted.push(n)
        assert.ok(
            messages.some(m => m.messageId === id),
            `message ${id} is in the emulator's records`
        )
    }
    assert.deepEqual(counted.slice(0, 3), [1, 2, 3], out)
})

test("flags that cannot work are refused before anything starts", async () => {
    const cases: [string[], RegExp][] = [
        [["--platform", "http://127.0.0.1:1"], /https:\/\/ URL/],
        [["--platform", "https://127.0.0.1:1/auth"], /nothing more/],
        [["--platform", url], /one of --device or --device-file/],
        [
            ["--platform", url, "--device", "pk/dn"],
            /PRODUCT_KEY\/DEVICE_NAME\/DEVICE_SECRET/,
        ],
        [
            ["--platform", url, "--device-file", join(dir, "missing")],
            /cannot read/,
        ],
        [["--device", DEVICE], /goes with --platform/],
    ]
    for (const [args, why] of cases) {
        const { code, out } = await npmStart(args, 60_000)
        assert.equal(code, 2, `${args.join(" ")}: ${out}`)
        assert.match(out, why)
        assert.ok(!out.includes(SECRET))
    }
})
