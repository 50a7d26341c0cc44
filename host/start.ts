/**
 * `npm start [-- --readings N] [--period MS] [--format json|alink]
 *  [--sign-method hmacsha1|hmacmd5|hmacsha256] [--fresh]`
 *
 * Starts the platform emulator with a demo device, provisions the simulated
 * device's settings the way a board gets them (deployed settings, no
 * credential in the bytecode), runs the firmware in the DeviceScript
 * simulator, and prints one line per reading the platform accepted. With
 * `--readings N` it exits 0 after N accepted readings.
 */
import { join } from "node:path"
import { parseArgs } from "node:util"
import { projectRoot } from "./devs.ts"
import { startPlatform } from "./platform/index.ts"
import { firmwareSettings, readingMessages, startFirmware } from "./firmware.ts"
import type { SimSession } from "./sim.ts"

/** The demo device (the emulator's, see README). */
const DEMO = {
    productKey: "a1DemoPrd01",
    deviceName: "demo-device-1",
    deviceSecret: "demoSecret0123456789abcdef0123",
}

/** Device log lines worth showing next to the accepted readings. */
const DEVICE_LINES = /^(config|sensors|auth|report: (not|refused|queue))/

const USAGE = `usage: npm start -- [--readings N] [--period MS] [--format json|alink]
                      [--sign-method hmacsha1|hmacmd5|hmacsha256] [--fresh]
  --readings N    exit 0 after N readings were accepted (default: run until Ctrl-C)
  --period MS     report period provisioned to the device (default 3000)
  --format F      payload format: json (default) or alink
  --sign-method M auth signature (default hmacsha1)
  --fresh         start the simulated device with erased flash (no stored token)`

async function main() {
    let a
    try {
        a = parseArgs({
            options: {
                readings: { type: "string" },
                period: { type: "string", default: "3000" },
                format: { type: "string", default: "json" },
                "sign-method": { type: "string", default: "hmacsha1" },
                fresh: { type: "boolean", default: false },
                help: { type: "boolean" },
            },
        }).values
    } catch (e: any) {
        console.error(`${e.message}\n${USAGE}`)
        process.exit(2)
    }
    if (a.help) return console.log(USAGE)
    const wanted = a.readings === undefined ? Infinity : Number(a.readings)
    if (!(wanted >= 1) || (!Number.isInteger(wanted) && wanted !== Infinity)) {
        console.error(`--readings must be a whole number >= 1\n${USAGE}`)
        process.exit(2)
    }

    const platform = await startPlatform({
        devices: [DEMO],
        adminPort: 0,
    })
    console.log(`platform: ${platform.url} (admin ${platform.adminUrl})`)
    console.log(`platform: CA certificate ${platform.caFile}`)

    let accepted = 0
    let done: () => void
    const finished = new Promise<void>(r => (done = r))
    const seen = new Set<string>()
    const poll = setInterval(() => {
        for (const m of readingMessages(platform)) {
            if (seen.has(m.messageId)) continue
            seen.add(m.messageId)
            accepted++
            console.log(
                `accepted #${accepted} messageId=${m.messageId} ${m.topic} ${m.body.toString("utf8")}`
            )
            if (accepted >= wanted) done()
        }
    }, 100)

    let sim: SimSession | undefined
    const stop = async (code: number) => {
        clearInterval(poll)
        await sim?.stop()
        await platform.close()
        process.exit(code)
    }
    process.on("SIGINT", () => void stop(130))
    process.on("SIGTERM", () => void stop(143))
    try {
        const settings = firmwareSettings(platform, DEMO, {
            PERIOD_MS: a.period!,
            FORMAT: a.format!,
            SIGN_METHOD: a["sign-method"]!,
        })
        sim = await startFirmware(platform, settings, {
            flashFile: join(projectRoot, "state/sim/flash.bin"),
            clearFlash: a.fresh,
            onLine: line => {
                if (DEVICE_LINES.test(line)) console.log(`device: ${line}`)
            },
        })
    } catch (e) {
        console.error(`${(e as Error).message}`)
        return await stop(1)
    }
    await finished
    await stop(0)
}

await main()
