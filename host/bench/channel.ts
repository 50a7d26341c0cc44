/**
 * The firmware's use of the channel, measured on the emulator's side while
 * the real bytecode runs in the simulator, all in one run: TLS handshakes
 * from boot through 100 readings, /auth calls per reboot with a valid
 * stored token, bytes on the wire per reading in steady state and in
 * backfill (with the JWT and the 32-hex token forms), requests to drain a
 * full queue of 32 and of 256, and the time from boot to the first
 * accepted reading with and without a stored token.
 */
import {
    firmwareSettings,
    readingMessages,
    readingsOf,
    startFirmware,
} from "../firmware.ts"
import { startPlatform, type Platform } from "../platform/index.ts"
import { measureDrain, until } from "./backfill.ts"
import type { Figure } from "./figures.ts"

const DEVICE = {
    productKey: "a1BenchPrd1",
    deviceName: "bench-device-1",
    deviceSecret: "benchSecret0123456789abcdef0123",
}
const READINGS = 100

/** Bytes on the wire per reading of the reading publishes since the given indexes. */
function wirePerReading(platform: Platform, fromReq: number, fromMsg: number) {
    const reqs = platform
        .requests()
        .slice(fromReq)
        .filter(r => r.url.startsWith("/topic/") && !r.url.includes("/ota/"))
    const readings = readingMessages(platform)
        .slice(fromMsg)
        .reduce((n, m) => n + readingsOf(m.body).length, 0)
    return reqs.reduce((n, r) => n + (r.wireBytes ?? 0), 0) / readings
}

/** ms from the program's first line (`config: ...`) to the first reading accepted after it. */
function bootToReading(platform: Platform, bootAt: number): number {
    const m = readingMessages(platform).find(m => Date.parse(m.time) >= bootAt)
    if (!m) throw new Error("bench: no reading after boot")
    return Date.parse(m.time) - bootAt
}

export async function channelFigures(): Promise<Figure[]> {
    const platform = await startPlatform({
        devices: [DEVICE],
        adminPort: false,
    })
    const hex = await startPlatform({
        devices: [DEVICE],
        adminPort: false,
        tokenForm: "hex",
    })
    const readings = () => readingMessages(platform).length
    const boots: number[] = [] // when each boot's program printed its config
    const settings = (p: Platform, extra: Record<string, string>) =>
        firmwareSettings(p, DEVICE, { PERIOD_MS: "1000", ...extra })
    const sim = await startFirmware(platform, settings(platform, {}), {
        // the simulator is shared: other sessions may hold it for minutes
        waitForPortsMs: 1_200_000,
        onLine: line => {
            if (line.startsWith("config: ")) boots.push(Date.now())
        },
    })
    try {
        // boot with empty flash: /auth, then the first reading
        await until(() => readings() >= 1, 60_000, "the first reading")
        const firstNoToken = bootToReading(platform, boots[0])
        // steady state: from the first accepted reading on
        const req0 = platform.requests().length
        const n0 = readings()
        await until(
            () => readings() >= n0 + READINGS,
            READINGS * 3000,
            `${READINGS} readings`
        )
        // every handshake since boot: auth, the first reading and 100 more
        const handshakes = platform.stats().tlsConnections
        const bytesPerReading = wirePerReading(platform, req0, n0)

        // a reboot with a valid token in flash
        const auths0 = platform.auths().length
        const b1 = boots.length
        await sim.restart()
        const n1 = readings()
        await until(() => readings() >= n1 + 3, 60_000, "readings after reboot")
        const authsPerReboot = platform.auths().length - auths0
        const firstStoredToken = bootToReading(platform, boots[b1])

        // backfill of a full queue of 32: one reading a request (before), then
        // batches (settings deployed stay in flash: BATCH_MAX is always given)
        const deploy = async (p: Platform, extra: Record<string, string>) => {
            await sim.deploy(settings(p, extra))
            const n = readingMessages(p).length
            await until(
                () => readingMessages(p).length >= n + 3,
                60_000,
                "readings after a deploy"
            )
        }
        await deploy(platform, { BUFFER_SIZE: "32", BATCH_MAX: "1" })
        const single32 = await measureDrain(platform, 40_000)
        await deploy(platform, { BUFFER_SIZE: "32", BATCH_MAX: "32" })
        const batch32 = await measureDrain(platform, 40_000)

        // the same with a 32-hex token (the platform's other token form)
        await deploy(hex, { BUFFER_SIZE: "32", BATCH_MAX: "32" })
        const hReq = hex.requests().length
        const hMsg = readingMessages(hex).length
        await until(
            () => readingMessages(hex).length >= hMsg + 10,
            60_000,
            "readings with a hex token"
        )
        const hexPerReading = wirePerReading(hex, hReq, hMsg)
        const hexBatch32 = await measureDrain(hex, 40_000)

        // a full queue of 256
        await deploy(platform, { BUFFER_SIZE: "256", BATCH_MAX: "32" })
        const batch256 = await measureDrain(platform, 270_000)
        console.log(
            `  (backfill batch sizes: 32-queue ${batch32.sizes}; 256-queue ${batch256.sizes})`
        )

        const round = (x: number) => Math.round(x)
        return [
            {
                name: "tls-per-100-readings",
                value: handshakes,
                unit: "conns",
                about: `TLS handshakes from boot through ${READINGS + 1} readings (target 1)`,
            },
            {
                name: "auth-per-reboot",
                value: authsPerReboot,
                unit: "calls",
                about: "/auth calls after a reboot with a valid stored token (target 0)",
            },
            {
                name: "bytes-per-reading",
                value: round(bytesPerReading),
                unit: "bytes",
                about: "steady state: request line + headers + body per reading, 161-char JWT token",
            },
            {
                name: "bytes-per-reading-hex",
                value: round(hexPerReading),
                unit: "bytes",
                about: "the same with a 32-hex token (target <= 254)",
            },
            {
                name: "backfill-bytes-per-reading",
                value: round(batch32.bytesPerReading),
                unit: "bytes",
                about: `draining a full queue of 32 in batches, JWT token (target <= 100; one reading a request: ${round(single32.bytesPerReading)})`,
            },
            {
                name: "backfill-bytes-per-reading-hex",
                value: round(hexBatch32.bytesPerReading),
                unit: "bytes",
                about: "the same with a 32-hex token",
            },
            {
                name: "requests-to-drain-32",
                value: batch32.requests,
                unit: "reqs",
                about: `${batch32.backlog} queued readings after a 40 s outage (one reading a request: ${single32.requests} for ${single32.backlog})`,
            },
            {
                name: "requests-to-drain-256",
                value: batch256.requests,
                unit: "reqs",
                about: `${batch256.backlog} queued readings after a 270 s outage, BUFFER_SIZE 256 (target <= 20)`,
            },
            {
                name: "boot-to-reading-no-token",
                value: firstNoToken,
                unit: "ms",
                about: "program start to the first accepted reading, empty flash (/auth first)",
            },
            {
                name: "boot-to-reading-stored-token",
                value: firstStoredToken,
                unit: "ms",
                about: "program start to the first accepted reading after a reboot with a token in flash",
            },
        ]
    } finally {
        await sim.stop()
        await platform.close()
        await hex.close()
    }
}
