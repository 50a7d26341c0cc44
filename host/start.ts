/**
 * `npm start [-- --readings N] [--period MS] [--format json|alink]
 *  [--sign-method hmacsha1|hmacmd5|hmacsha256] [--fresh]
 *  [--platform URL [--ca FILE] (--device PK/DN/SECRET | --device-file FILE)]`
 *
 * Starts the platform emulator with a demo device (or, with `--platform`,
 * uses any endpoint, e.g. the real platform with a device from its
 * console), provisions the simulated device's settings the way a board
 * gets them (deployed settings, no credential in the bytecode), runs the
 * firmware in the DeviceScript simulator, and prints one line per reading
 * the platform accepted. With `--readings N` it exits 0 after N accepted
 * readings.
 */
import { readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { projectRoot } from "./devs.ts"
import { startPlatform, type Platform } from "./platform/index.ts"
import {
    firmwareSettings,
    parseChannelUrl,
    parseDeviceTriple,
    readingMessages,
    startFirmware,
    type DeviceCredentials,
} from "./firmware.ts"
import type { SimSession } from "./sim/index.ts"

/** The demo device (the emulator's, see README). */
const DEMO = {
    productKey: "a1DemoPrd01",
    deviceName: "demo-device-1",
    deviceSecret: "demoSecret0123456789abcdef0123",
}

/** Device log lines worth showing next to the accepted readings. */
const DEVICE_LINES =
    /^(config|sensors|auth|version: (not|refused|cannot)|report: (not|refused|queue|seq|the platform|TOPIC|cannot))/
/** The device's own line for an accepted reading (with an external platform). */
const ACCEPTED_LINE = /^report: accepted messageId=(\d*) body=(.*)$/

const USAGE = `usage: npm start -- [--readings N] [--period MS] [--format json|alink]
                      [--sign-method hmacsha1|hmacmd5|hmacsha256] [--fresh]
                      [--platform URL [--ca FILE] (--device PK/DN/SECRET | --device-file FILE)]
  --readings N    exit 0 after N readings were accepted (default: run until Ctrl-C)
  --period MS     report period provisioned to the device (default 3000)
  --format F      payload format: json (default) or alink
  --sign-method M auth signature (default hmacsha1)
  --fresh         start the simulated device with erased flash (no stored token)
  --platform URL  report to this endpoint instead of a local emulator, e.g.
                  https://iot-as-http.cn-shanghai.aliyuncs.com (trusted through
                  Node's public roots); readings are counted from the device's log
  --ca FILE       also trust this CA certificate (PEM), e.g. another emulator's
  --device D      the device as PRODUCT_KEY/DEVICE_NAME/DEVICE_SECRET
  --device-file F a file holding PRODUCT_KEY/DEVICE_NAME/DEVICE_SECRET (keeps the
                  secret out of the process list)`

/** How long to wait for another simulator session (a test, a benchmark) to end. */
const SIM_WAIT_MS = 180_000

/** Where the readings go: a local emulator started here, or an endpoint. */
interface Target {
    settingsBase: Parameters<typeof firmwareSettings>[0]
    trust: { caFile?: string }
    device: DeviceCredentials
    /** the emulator, when it is local (readings are read from its records) */
    emulator?: Platform
}

/** The target the flags name; throws a clear Error (never showing a secret). */
async function targetFrom(a: Record<string, any>): Promise<Target> {
    if (a.platform === undefined) {
        for (const f of ["ca", "device", "device-file"])
            if (a[f] !== undefined)
                throw new Error(`--${f} goes with --platform`)
        const emulator = await startPlatform({ devices: [DEMO], adminPort: 0 })
        console.log(`platform: ${emulator.url} (admin ${emulator.adminUrl})`)
        console.log(`platform: CA certificate ${emulator.caFile}`)
        return {
            settingsBase: emulator,
            trust: emulator,
            device: DEMO,
            emulator,
        }
    }
    const endpoint = parseChannelUrl(a.platform)
    if ((a.device === undefined) === (a["device-file"] === undefined))
        throw new Error("--platform needs one of --device or --device-file")
    let device: DeviceCredentials
    if (a.device !== undefined) device = parseDeviceTriple(a.device, "--device")
    else {
        let text: string
        try {
            text = readFileSync(resolve(a["device-file"]), "utf8")
        } catch (e: any) {
            throw new Error(
                `--device-file: cannot read ${a["device-file"]} (${e.code ?? e.message})`
            )
        }
        device = parseDeviceTriple(text, `--device-file ${a["device-file"]}`)
    }
    let caFile: string | undefined
    if (a.ca !== undefined) {
        caFile = resolve(a.ca)
        try {
            if (
                !readFileSync(caFile, "utf8").includes(
                    "-----BEGIN CERTIFICATE-----"
                )
            )
                throw new Error("no PEM certificate in it")
        } catch (e: any) {
            throw new Error(`--ca ${a.ca}: ${e.code ?? e.message}`)
        }
    }
    console.log(
        `platform: ${a.platform} as ${device.productKey}/${device.deviceName}${caFile ? `, also trusting ${caFile}` : ""}`
    )
    return { settingsBase: endpoint, trust: { caFile }, device }
}

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
                platform: { type: "string" },
                ca: { type: "string" },
                device: { type: "string" },
                "device-file": { type: "string" },
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

    let target: Target
    try {
        target = await targetFrom(a)
    } catch (e) {
        console.error(`${(e as Error).message}\n${USAGE}`)
        process.exit(2)
    }
    const emulator = target.emulator

    let accepted = 0
    let done: () => void
    const finished = new Promise<void>(r => (done = r))
    const count = (messageId: string, what: string) => {
        accepted++
        console.log(`accepted #${accepted} messageId=${messageId} ${what}`)
        if (accepted >= wanted) done()
    }
    const seen = new Set<string>()
    const poll = setInterval(() => {
        if (!emulator) return
        for (const m of readingMessages(emulator)) {
            if (seen.has(m.messageId)) continue
            seen.add(m.messageId)
            count(m.messageId, `${m.topic} ${m.body.toString("utf8")}`)
        }
    }, 100)

    let sim: SimSession | undefined
    const stop = async (code: number) => {
        clearInterval(poll)
        await sim?.stop()
        await emulator?.close()
        process.exit(code)
    }
    process.on("SIGINT", () => void stop(130))
    process.on("SIGTERM", () => void stop(143))
    try {
        const settings = firmwareSettings(target.settingsBase, target.device, {
            PERIOD_MS: a.period!,
            FORMAT: a.format!,
            SIGN_METHOD: a["sign-method"]!,
        })
        sim = await startFirmware(target.trust, settings, {
            flashFile: join(projectRoot, "state/sim/flash.bin"),
            // take a turn after a test or benchmark that holds the simulator
            waitForPortsMs: SIM_WAIT_MS,
            clearFlash: a.fresh,
            onLine: line => {
                const ok = emulator ? null : ACCEPTED_LINE.exec(line)
                if (ok) count(ok[1], ok[2])
                else if (DEVICE_LINES.test(line)) console.log(`device: ${line}`)
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
