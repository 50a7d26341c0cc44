/**
 * Firmware entry: reads the configuration from device settings, starts the
 * sensors, and reports readings to the platform's HTTPS device channel.
 */
import * as ds from "@devicescript/core"
import { ChannelClient } from "./channel/client"
import { TokenStore } from "./channel/token-store"
import { Config, readConfig, readTopic } from "./config"
import { HttpClient } from "./http/client"
import { netTransport } from "./http/transport"
import { loadBatteryState } from "./battery"
import { FlashQueue } from "./flash-queue"
import { cloudConnectionGate } from "./ota"
import { FlashKeeper } from "./reading-keeper"
import { Reporter } from "./reporter"
import { readSensors, startSensors } from "./sensors"
import { WallClock } from "./time"
import { deviceTiming } from "./timing"
import { firmwareVersion, informBody, informTopic } from "./version"
import { batteryWake, bootTimeEstimate } from "./wake"

/** How often a device with bad settings reads them again. */
const CONFIG_RETRY_MS = 30000

/** Waits until the settings make a valid configuration (never crash-loops). */
async function waitForConfig(): Promise<Config> {
    for (;;) {
        try {
            const r = await readConfig()
            if (r.config) return r.config
        } catch (e) {
            console.warn(`config: ${(e as Error).message}`)
        }
        console.log(
            `config: waiting for valid settings, reading them again in ${CONFIG_RETRY_MS / 1000} s`
        )
        await ds.sleep(CONFIG_RETRY_MS)
    }
}

async function main() {
    const startedAt = ds.millis() // the runtime's own start-up is before this
    const config = await waitForConfig()
    const sensors = await startSensors()
    const clock = new WallClock()
    const http = new HttpClient(netTransport, {
        host: config.host,
        port: config.port,
        // fleet OTA shares the one socket: let the runtime's connection
        // finish before connecting, and let go whenever nothing is pending
        beforeConnect: config.fleetOta ? cloudConnectionGate() : undefined,
        releaseWhenIdle: config.fleetOta,
    })
    const tokens = new TokenStore(
        `${config.productKey}/${config.deviceName}@${config.host}`
    )
    const channel = new ChannelClient(config, http, tokens, clock)
    const battery = config.sleepS > 0
    const state = battery ? await loadBatteryState() : undefined
    const bootTime = battery ? bootTimeEstimate(state) : NaN
    const reporter = new Reporter(
        {
            topic: config.topic,
            format: config.format,
            periodMs: config.periodMs,
            bufferSize: config.bufferSize,
            batchMax: config.batchMax,
            productKey: config.productKey,
            deviceName: config.deviceName,
            rereadTopic: readTopic,
            estimateTime: () => bootTime + ds.millis(),
        },
        channel,
        clock,
        async () => await readSensors(sensors),
        deviceTiming,
        // battery mode keeps readings in flash whatever FLASH_QUEUE says:
        // RAM does not survive a deep sleep
        config.flashQueue > 0 || battery
            ? new FlashKeeper(new FlashQueue(config.flashQueue || 32))
            : undefined
    )
    // the version (it shows in the platform's console)
    const sendVersion = () =>
        reporter.sendOnce(
            "version",
            informTopic(config.productKey, config.deviceName),
            informBody(1, firmwareVersion())
        )
    if (battery) {
        await batteryWake(
            config,
            state,
            reporter,
            clock,
            firmwareVersion(),
            sendVersion,
            startedAt
        )
        return
    }
    // readings kept in flash before a reboot go first
    await reporter.restore()
    sendVersion() // once per boot
    await reporter.run()
}

await main()
