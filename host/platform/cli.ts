/**
 * `npm run platform -- [--port 8443] [--admin-port N] [--device PK/DN/SECRET ...]
 *  [--devices FILE.json] [--state DIR] [--token-ttl SECONDS|48h|7d] [--token-form jwt|hex]
 *  [--topics FILE.json]
 *  [--rate-device N] [--rate-global N] [--keep-alive SECONDS] [--max-body BYTES]
 *  [--max-records N] [--max-log-bytes BYTES] [--quiet]`
 *
 * Runs the emulator until interrupted and prints the channel URL, the admin
 * URL and where the CA certificate is.
 */
import { readFileSync, statSync } from "node:fs"
import { resolve } from "node:path"
import { helpText, readCommandLine } from "../lib/args.ts"
import { PLATFORM_COMMAND } from "./command.ts"
import { startPlatform, DEFAULT_STATE_DIR } from "./index.ts"
import { toDevice, type Device } from "./state.ts"
import { checkedDevice } from "./device-identity.ts"
import { TOKEN_FORMS, type TokenForm } from "./tokens.ts"
import { MAX_TIMER_MS } from "./faults.ts"
import { parseTokenTtl } from "./token-ttl.ts"
import { parseJsonQuietly } from "../lib/json-error.ts"
import { parseTopicsFile, type TopicClass } from "./topics.ts"
import { exitOnSignal } from "../lib/exit-on-signal.ts"
import { serviceLog } from "../lib/service-log.ts"

/** The largest topics file read. */
const MAX_TOPICS_FILE_BYTES = 1024 * 1024

/** A file's text, refused when larger than the topics file limit. */
function readBounded(file: string): string {
    if (statSync(file).size > MAX_TOPICS_FILE_BYTES)
        throw new Error(`larger than ${MAX_TOPICS_FILE_BYTES} bytes`)
    return readFileSync(file, "utf8")
}

/** The device used when none is given (documented in README.md). */
export const DEMO_DEVICE =
    "a1DemoPrd01/demo-device-1/demoSecret0123456789abcdef0123"

const USAGE = helpText(PLATFORM_COMMAND)

function num(name: string, v: string | undefined, dflt?: number) {
    if (v === undefined) return dflt
    const n = Number(v)
    if (!Number.isFinite(n) || n < 0) {
        console.error(`--${name} must be a non-negative number, got ${v}`)
        process.exit(2)
    }
    return n
}

function whole(name: string, v: string | undefined) {
    if (v === undefined) return undefined
    const n = Number(v)
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) {
        console.error(`--${name} must be a whole number >= 1, got ${v}`)
        process.exit(2)
    }
    return n
}

/** `--keep-alive S` in ms, refused beyond what a Node timer can wait. */
function keepAliveMs(v: string | undefined) {
    const ms = num("keep-alive", v, 60)! * 1000
    if (ms > MAX_TIMER_MS) {
        console.error(
            `--keep-alive must be at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (about 24.8 days, the longest a Node timer can wait), got ${v}`
        )
        process.exit(2)
    }
    return ms
}

/** `--token-ttl` in seconds (undefined: the default). */
function tokenTtl(v: string | undefined) {
    if (v === undefined) return undefined
    const s = parseTokenTtl(v)
    if (s === undefined) {
        console.error(
            `--token-ttl must be seconds or a number with s, m, h or d (e.g. 48h, 7d), at most 10 years, got ${v}`
        )
        process.exit(2)
    }
    return s
}

function loadDevicesFile(file: string): Device[] {
    // a JSON error names its line and column only: the file holds secrets
    const j: any = parseJsonQuietly(readFileSync(file, "utf8"))
    const list = Array.isArray(j) ? j : j?.devices
    if (!Array.isArray(list))
        throw new Error(
            `${file}: expected an array of devices or {"devices": [...]}`
        )
    return list.map((d, i) => {
        try {
            return checkedDevice(d)
        } catch (e: any) {
            throw new Error(`${file}: device ${i + 1}: ${e.message}`)
        }
    })
}

async function main() {
    const a = readCommandLine(PLATFORM_COMMAND, "platform").values
    const port = num("port", a.port, 8443)!
    const adminPort = num("admin-port", a["admin-port"], port ? port + 1 : 0)!
    let devices: Device[]
    try {
        devices = [
            ...(a.devices ? loadDevicesFile(resolve(a.devices)) : []),
            ...(a.device ?? []).map(d => {
                try {
                    return checkedDevice(d)
                } catch (e: any) {
                    throw new Error(`--device: ${e.message}`)
                }
            }),
        ]
    } catch (e: any) {
        console.error(e.message)
        process.exit(2)
    }
    let topics: TopicClass[] | undefined
    if (a.topics) {
        try {
            topics = parseTopicsFile(readBounded(resolve(a.topics)))
        } catch (e: any) {
            console.error(`--topics ${a.topics}: ${e.message}`)
            process.exit(2)
        }
    }
    const tokenForm = a["token-form"] ?? "jwt"
    if (!TOKEN_FORMS.includes(tokenForm as TokenForm)) {
        console.error(`--token-form must be jwt or hex, got ${tokenForm}`)
        process.exit(2)
    }
    const demo = !devices.length
    if (demo) devices.push(toDevice(DEMO_DEVICE))
    const p = await startPlatform({
        port,
        adminPort,
        devices,
        stateDir: a.state ? resolve(a.state) : DEFAULT_STATE_DIR,
        tokenTtlSeconds: tokenTtl(a["token-ttl"]),
        tokenForm: tokenForm as TokenForm,
        topics,
        rateDevice: num("rate-device", a["rate-device"]),
        rateGlobal: num("rate-global", a["rate-global"]),
        keepAliveTimeoutMs: keepAliveMs(a["keep-alive"]),
        maxBodyBytes: num("max-body", a["max-body"]),
        maxRecords: whole("max-records", a["max-records"]),
        maxLogBytes: whole("max-log-bytes", a["max-log-bytes"]),
        onEvent: a.quiet ? undefined : serviceLog(),
    })
    exitOnSignal(() => p.close())
    console.log(`IoT platform emulator
  device channel  ${p.url}
  admin API       ${p.adminUrl}
  CA certificate  ${p.caFile}
                  (clients trust it with NODE_EXTRA_CA_CERTS=${p.caFile})
  devices         ${devices.map(d => `${d.productKey}/${d.deviceName}`).join(", ")}${demo ? " (demo device, secret in README.md)" : ""}`)
}

main().catch(e => {
    console.error(e?.code === "EADDRINUSE" ? `port in use: ${e.message}` : e)
    process.exit(1)
})
