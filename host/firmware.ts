/**
 * The firmware (`src/main.ts`) in the simulator, provisioned to report to a
 * platform emulator: the settings a device needs for it, and a session that
 * trusts the emulator's CA and nothing else extra.
 */
import type { Platform } from "./platform/index.ts"
import { startSim, type SimOptions, type SimSession } from "./sim.ts"

/** A device's identity on the platform. */
export interface DeviceCredentials {
    productKey: string
    deviceName: string
    deviceSecret: string
}

/** Device settings that point the firmware at `platform`; `extra` adds or overrides. */
export function firmwareSettings(
    platform: Platform,
    device: DeviceCredentials,
    extra: Record<string, string> = {}
): Record<string, string> {
    return {
        PRODUCT_KEY: device.productKey,
        DEVICE_NAME: device.deviceName,
        DEVICE_SECRET: device.deviceSecret,
        HOST: "127.0.0.1",
        PORT: String(platform.port),
        ...extra,
    }
}

/** Runs the firmware in the simulator with `settings`, trusting `platform`'s CA. */
export async function startFirmware(
    platform: Platform,
    settings: Record<string, string>,
    options: Partial<SimOptions> = {}
): Promise<SimSession> {
    return await startSim({
        entry: "src/main.ts",
        settings,
        env: { NODE_EXTRA_CA_CERTS: platform.caFile },
        ...options,
    })
}

/** Messages that carry readings: every topic but the version report's `/ota/...`. */
export function readingMessages(platform: Platform) {
    return platform.messages().filter(m => !m.topic.startsWith("/ota/"))
}
