/**
 * The firmware's use of the channel, measured on the emulator's side while
 * the real bytecode runs in the simulator: TLS handshakes from boot through
 * 100 readings, /auth calls per reboot with a valid stored token, and
 * bytes on the wire per reading.
 */
import {
    firmwareSettings,
    readingMessages,
    startFirmware,
} from "../firmware.ts"
import { startPlatform } from "../platform/index.ts"
import type { Figure } from "./figures.ts"

const DEVICE = {
    productKey: "a1BenchPrd1",
    deviceName: "bench-device-1",
    deviceSecret: "benchSecret0123456789abcdef0123",
}
const READINGS = 100

async function until(cond: () => boolean, timeoutMs: number, what: string) {
    const end = Date.now() + timeoutMs
    while (!cond()) {
        if (Date.now() > end)
            throw new Error(`bench: timed out waiting for ${what}`)
        await new Promise(r => setTimeout(r, 100))
    }
}

export async function channelFigures(): Promise<Figure[]> {
    const platform = await startPlatform({
        devices: [DEVICE],
        adminPort: false,
    })
    const readings = () => readingMessages(platform).length
    const sim = await startFirmware(
        platform,
        firmwareSettings(platform, DEVICE, { PERIOD_MS: "1000" }),
        { waitForPortsMs: 300_000 }
    )
    try {
        // steady state: from the first accepted reading on
        await until(() => readings() >= 1, 60_000, "the first reading")
        const req0 = platform.requests().length
        const n0 = readings()
        await until(
            () => readings() >= n0 + READINGS,
            READINGS * 3000,
            `${READINGS} readings`
        )
        // every handshake since boot: auth, the first reading and 100 more
        const handshakes = platform.stats().tlsConnections
        const publishes = platform
            .requests()
            .slice(req0)
            .filter(
                r => r.url.startsWith("/topic/") && !r.url.includes("/ota/")
            )
        const bytesPerReading =
            publishes.reduce((n, r) => n + (r.wireBytes ?? 0), 0) /
            publishes.length

        // a reboot with a valid token in flash
        const auths0 = platform.auths().length
        await sim.restart()
        const n1 = readings()
        await until(() => readings() >= n1 + 3, 60_000, "readings after reboot")
        const authsPerReboot = platform.auths().length - auths0

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
                value: Math.round(bytesPerReading),
                unit: "bytes",
                about: "request line + headers + body of one reading's publish",
            },
        ]
    } finally {
        await sim.stop()
        await platform.close()
    }
}
