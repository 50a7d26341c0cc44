/**
 * `npm start [-- --readings N] [--period MS] [--format json|alink]
 *  [--sign-method hmacsha1|hmacmd5|hmacsha256] [--fresh]
 *  [--platform URL [--ca FILE] (--device PK/DN/SECRET | --device-file FILE)]
 *  [--fleet ID [--fleet-state DIR]] [--sleep S [--post-every N]]`
 *
 * Starts the platform emulator with a demo device (or, with `--platform`,
 * uses any endpoint, e.g. the real platform with a device from its
 * console), provisions the simulated device's settings the way a board
 * gets them (deployed settings, no credential in the bytecode), runs the
 * firmware in the DeviceScript simulator, and prints one line per reading
 * the platform accepted. With `--readings N` it exits 0 after N accepted
 * readings. With `--fleet ID` the device runs with `FLEET_OTA=1` and is
 * enrolled as fleet device ID of the service running on `--fleet-state`
 * (`host/fleet/service/enrol.ts`, the code `fleet enrol` runs). Whenever the device
 * reports a new running version it prints `version: <version>`. With
 * `--sleep S` the device runs in battery mode (`SLEEP_S`): a reading a wake,
 * a post every `--post-every` wakes, deep sleep between wakes (the harness
 * emulates it, see `SimSession.sleepAndWake`); one `wake:` line per wake.
 */
import { readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { projectRoot } from "../lib/devs.ts"
import { helpText, readCommandLine } from "../lib/args.ts"
import { startPlatform, type Platform } from "../platform/index.ts"
import {
    firmwareSettings,
    parseChannelUrl,
    parseDeviceTriple,
    readingMessages,
    readingsOf,
    startFirmware,
    type DeviceCredentials,
} from "../firmware.ts"
import { SIM_PORTS, SIM_TURN_WAIT_MS, type SimSession } from "../sim/index.ts"
import {
    DEVICE_ID,
    enrolOnBus,
    type EnrolPlan,
    prepareEnrol,
} from "../fleet/index.ts"
import { START_COMMAND } from "./command.ts"

/** The demo device (the emulator's, see README). */
const DEMO = {
    productKey: "a1DemoPrd01",
    deviceName: "demo-device-1",
    deviceSecret: "demoSecret0123456789abcdef0123",
}

/** Device log lines worth showing next to the accepted readings. */
const DEVICE_LINES =
    /^(config|sensors|auth|wake:|clock:|battery:|flash queue:|version: (not|refused|cannot)|report: (not|refused|queue|seq|the platform|TOPIC|cannot))/
/** The device's own line for an accepted reading (with an external platform). */
const ACCEPTED_LINE = /^report: accepted messageId=(\d*) body=(.*)$/
/** The device's own line for its accepted version report (external platform). */
const VERSION_LINE = /^version: accepted messageId=\d* body=(.*)$/

/** The version in a version report's body (`{"id",..,"params":{"version"}}`). */
function reportedVersion(body: string): string | undefined {
    try {
        const v = JSON.parse(body)?.params?.version
        return typeof v === "string" ? v : undefined
    } catch {
        return undefined
    }
}
/** ... and for a backfill batch, which the device logs by its readings. */
const ACCEPTED_BATCH =
    /^report: accepted messageId=(\d*) (\d+) readings (seq \d+\.\.\d+.*)$/

const USAGE = helpText(START_COMMAND)

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
    const a = readCommandLine(START_COMMAND, "start").values
    const wanted = a.readings === undefined ? Infinity : Number(a.readings)
    if (!(wanted >= 1) || (!Number.isInteger(wanted) && wanted !== Infinity)) {
        console.error(`--readings must be a whole number >= 1\n${USAGE}`)
        process.exit(2)
    }

    const sleepS = a.sleep === undefined ? 0 : Number(a.sleep)
    const postEvery =
        a["post-every"] === undefined ? 6 : Number(a["post-every"])
    if (!Number.isInteger(sleepS) || sleepS < 0 || sleepS > 86400) {
        console.error(
            `--sleep must be a whole number of seconds, 1..86400\n${USAGE}`
        )
        process.exit(2)
    }
    if (!Number.isInteger(postEvery) || postEvery < 1 || postEvery > 1000) {
        console.error(`--post-every must be a whole number, 1..1000\n${USAGE}`)
        process.exit(2)
    }
    if (a["post-every"] !== undefined && !sleepS) {
        console.error(`--post-every goes with --sleep\n${USAGE}`)
        process.exit(2)
    }

    let target: Target
    let fleet: EnrolPlan | undefined
    if (a["fleet-state"] !== undefined && a.fleet === undefined) {
        console.error(`--fleet-state goes with --fleet\n${USAGE}`)
        process.exit(2)
    }
    if (a.fleet !== undefined) {
        if (!DEVICE_ID.test(a.fleet)) {
            console.error(
                `--fleet ${a.fleet}: a fleet device id ([A-Za-z0-9._-], at most 64)\n${USAGE}`
            )
            process.exit(2)
        }
        try {
            // before the simulator starts: an unknown ID or no service fails fast
            fleet = await prepareEnrol({
                id: a.fleet,
                stateDir: a["fleet-state"] ?? "state/fleet",
            })
        } catch (e) {
            console.error(`fleet: ${(e as Error).message}`)
            process.exit(1)
        }
    }
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
    const count = (messageId: string, what: string, n = 1) => {
        const first = accepted + 1
        accepted += n
        const which = n > 1 ? `#${first}..#${accepted}` : `#${accepted}`
        console.log(`accepted ${which} messageId=${messageId} ${what}`)
        if (accepted >= wanted) done()
    }
    let version: string | undefined
    const versionReported = (body: string) => {
        const v = reportedVersion(body)
        if (v === undefined || v === version) return
        version = v
        console.log(`version: ${v}`)
    }
    /** Readings in a message: a backfill batch holds several. */
    const readingsIn = (body: Buffer) => {
        try {
            return readingsOf(body).length
        } catch {
            return 1
        }
    }
    const seen = new Set<string>()
    let informsSeen = 0
    const poll = setInterval(() => {
        if (!emulator) return
        for (const m of readingMessages(emulator)) {
            if (seen.has(m.messageId)) continue
            seen.add(m.messageId)
            count(
                m.messageId,
                `${m.topic} ${m.body.toString("utf8")}`,
                readingsIn(m.body)
            )
        }
        const informs = emulator.informs()
        for (; informsSeen < informs.length; informsSeen++)
            versionReported(informs[informsSeen].body.toString("utf8"))
    }, 100)

    let sim: SimSession | undefined
    let stopping = false
    const stop = async (code: number) => {
        stopping = true
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
            ...(fleet ? { FLEET_OTA: "1" } : {}),
            // always written: deployed settings stay in flash until overwritten
            SLEEP_S: String(sleepS),
            POST_EVERY: String(postEvery),
        })
        sim = await startFirmware(target.trust, settings, {
            // a fleet member keeps its connection string (and the programs
            // the service sent) in flash of its own
            flashFile: join(
                projectRoot,
                fleet
                    ? `state/sim/fleet-${fleet.id}.bin`
                    : "state/sim/flash.bin"
            ),
            // take a turn after a test or benchmark that holds the simulator
            waitForPortsMs: SIM_TURN_WAIT_MS,
            clearFlash: a.fresh,
            onLine: line => {
                const ok = emulator ? null : ACCEPTED_LINE.exec(line)
                const v = emulator ? null : VERSION_LINE.exec(line)
                const batch = emulator ? null : ACCEPTED_BATCH.exec(line)
                if (ok) count(ok[1], ok[2])
                else if (batch) count(batch[1], batch[3], +batch[2])
                else if (v) versionReported(v[1])
                else if (DEVICE_LINES.test(line)) console.log(`device: ${line}`)
            },
        })
        if (fleet) {
            const r = await enrolOnBus(fleet, {
                jacdacPort: SIM_PORTS[1],
                log: l => console.log(`fleet: ${l}`),
            }).catch(e => {
                throw new Error(`fleet: ${(e as Error).message}`)
            })
            console.log(
                `fleet: ${fleet.id} connected to the fleet service (${(r.connectedAfterMs / 1000).toFixed(1)} s after enrolment)`
            )
        }
        if (sleepS) void wakeAfterEachSleep(sim, () => stopping, stop)
    } catch (e) {
        console.error(`${(e as Error).message}`)
        return await stop(1)
    }
    await finished
    await stop(0)
}

/**
 * Battery mode: each time the device says `sleep: <ms> ms` (and its runtime
 * ends, as `standby` does in the simulator), starts it again after that
 * long on the same flash, as a board's timer wake-up does.
 */
async function wakeAfterEachSleep(
    sim: SimSession,
    stopping: () => boolean,
    stop: (code: number) => Promise<void>
) {
    try {
        for (;;) {
            const m = await sim.waitForLine(/^sleep: (\d+) ms/, 86_400_000 * 2)
            await sim.sleepAndWake(+m[1])
        }
    } catch (e) {
        if (stopping()) return
        console.error(`sleep: ${(e as Error).message}`)
        await stop(1)
    }
}

await main()
