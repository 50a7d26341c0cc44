/**
 * Shared pieces of the end-to-end tests: the real firmware bytecode in the
 * DeviceScript simulator, provisioned through settings, against the platform
 * emulator over TLS verified with the emulator's CA.
 */
import {
    firmwareSettings,
    readingMessages,
    startFirmware,
} from "../../host/firmware.ts"
import { startPlatform, type Platform } from "../../host/platform/index.ts"
import type { SimOptions, SimSession } from "../../host/sim/index.ts"
import { waitUntil, type WaitOptions } from "../../host/testkit/wait-until.ts"

export const DEVICE = {
    productKey: "a1E2eProd01",
    deviceName: "e2e-device-1",
    deviceSecret: "e2eSecret0123456789abcdef0123456",
}

/**
 * Other tools (a bench run, other test runs on the machine) may hold the
 * simulator for minutes; one wait covers both the lock and the ports.
 */
export const WAIT_FOR_PORTS_MS = 600_000

/** Settings that point the device at `platform`, one reading a second; `extra` overrides. */
export function deviceSettings(
    platform: Platform,
    extra: Record<string, string> = {}
): Record<string, string> {
    return firmwareSettings(platform, DEVICE, { PERIOD_MS: "1000", ...extra })
}

export async function startTestPlatform(
    options: Parameters<typeof startPlatform>[0] = {}
) {
    return await startPlatform({
        devices: [DEVICE],
        adminPort: false,
        ...options,
    })
}

/** The firmware in the simulator, trusting the platform's CA. */
export async function startDevice(
    platform: Platform,
    settings: Record<string, string>,
    options: Partial<SimOptions> = {}
): Promise<SimSession> {
    return await startFirmware(platform, settings, {
        waitForPortsMs: WAIT_FOR_PORTS_MS,
        echo: !!process.env.E2E_ECHO,
        ...options,
    })
}

export { waitUntil }

/** A device's last log lines, for a failed wait's message. */
export function deviceLines(sim?: SimSession): WaitOptions {
    return {
        detail: () =>
            sim
                ? `\nrecent device lines:\n${sim.lines.slice(-20).join("\n")}`
                : "",
    }
}

/** A reading as the platform received it. */
export interface ReceivedReading {
    topic: string
    messageId: string
    /** the reading's body: a message's, or its part of a backfill batch */
    body: any
    /** readings in the message that carried it (more than 1: a backfill batch) */
    batch: number
}

const HISTORY_METHOD = "thing.event.property.history.post"

/**
 * Every accepted reading (not the version report), oldest first, its body
 * parsed as JSON. A backfill batch gives one entry per reading: a JSON
 * array's elements; an Alink history post's `properties` entries, each as
 * `{id: <id + index>, version, method, params: <entry>}`.
 */
export function received(platform: Platform): ReceivedReading[] {
    return readingMessages(platform).flatMap(m => {
        const body = JSON.parse(m.body.toString("utf8"))
        const at = { topic: m.topic, messageId: m.messageId }
        if (Array.isArray(body))
            return body.map(b => ({ ...at, body: b, batch: body.length }))
        if (body.method === HISTORY_METHOD) {
            const entries: any[] = body.params[0].properties
            return entries.map((params, i) => ({
                ...at,
                body: {
                    id: String(+body.id + i),
                    version: body.version,
                    method: body.method,
                    params,
                },
                batch: entries.length,
            }))
        }
        return [{ ...at, body, batch: 1 }]
    })
}

/** How many readings the platform has accepted so far (a batch counts each). */
export function readingCount(platform: Platform) {
    return received(platform).length
}

/** Waits until the platform has accepted `n` more readings. */
export async function waitForReadings(
    platform: Platform,
    n: number,
    timeoutMs: number,
    sim?: SimSession
) {
    const target = readingCount(platform) + n
    await waitUntil(
        () => readingCount(platform) >= target,
        timeoutMs,
        `${n} more accepted readings`,
        deviceLines(sim)
    )
}

/** Successful `/auth` calls so far. */
export function successfulAuths(platform: Platform) {
    return platform.auths().filter(a => a.code === 0)
}
