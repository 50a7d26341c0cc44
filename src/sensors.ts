import * as ds from "@devicescript/core"
import {
    startAHT20,
    startBME680,
    startSHT30,
    startSHTC3,
} from "@devicescript/drivers"
import { readSetting } from "@devicescript/settings"
import { ReadingValue } from "./payload"
import { startSimulatedSensor } from "./sim-sensor"

/** A named value read through a DeviceScript sensor role. */
export interface SensorChannel {
    name: string
    role: { reading: ds.Register<number> }
}

/** Longest wait for one sensor value; a silent sensor must not stall the others. */
export const READ_TIMEOUT_MS = 2000

/** Settings key: `SIM_SENSOR=stuck-humidity` makes the simulated humidity sensor stop answering (tests). */
export const SIM_SENSOR_KEY = "SIM_SENSOR"

type Starter = () => Promise<{ temperature: any; humidity: any }>

/** Drivers tried in order on hardware; the first one that answers is used. */
const DRIVERS: [string, Starter][] = [
    ["SHTC3", async () => await startSHTC3()],
    ["SHT30", async () => await startSHT30()],
    ["AHT20", async () => await startAHT20()],
    ["BME680", async () => await startBME680()],
]

/**
 * Simulated temperature (°C) and humidity (%RH): plausible values that
 * drift slowly, hosted in the program like a hardware driver's servers.
 */
function startSimulatedSensors(stuck: string) {
    let step = 0
    const wave = (period: number) => {
        const k = step % period
        return (k < period / 2 ? k : period - k) / (period / 2) // 0..1..0
    }
    const value = async (name: string, base: number, span: number) => {
        if (stuck === name) await ds.sleep(3600000) // never answers in time
        step++
        return Math.round((base + span * wave(40) + Math.random()) * 10) / 10
    }
    return {
        temperature: new ds.Temperature(
            startSimulatedSensor(
                ds.Temperature.spec,
                async () => await value("temperature", 19, 6)
            )
        ),
        humidity: new ds.Humidity(
            startSimulatedSensor(
                ds.Humidity.spec,
                async () => await value("humidity", 40, 20)
            )
        ),
    }
}

/**
 * Starts the board's sensor: in the simulator a simulated one, on hardware
 * the first I2C driver that answers. Logs what it found; returns no
 * channels (and says so) when no sensor answers.
 */
export async function startSensors(): Promise<SensorChannel[]> {
    let found: { temperature: any; humidity: any }
    if (ds.isSimulator()) {
        const mode: string = await readSetting(SIM_SENSOR_KEY, "")
        // "stuck-humidity" -> the humidity sensor stops answering
        const stuck = mode.indexOf("stuck-") === 0 ? mode.slice(6) : ""
        found = startSimulatedSensors(stuck)
        console.log(
            `sensors: simulated temperature and humidity${mode ? ", " + mode : ""}`
        )
    } else {
        for (const driver of DRIVERS) {
            const name = driver[0]
            try {
                const start = driver[1]
                found = await start()
                console.log(`sensors: ${name} temperature and humidity`)
                break
            } catch (e) {
                console.debug(`sensors: no ${name}`)
            }
        }
        if (!found)
            console.warn(
                `sensors: none answered (tried ${DRIVERS.map(d => d[0]).join(", ")}); reporting without readings`
            )
    }
    if (!found) return []
    return [
        { name: "temperature", role: found.temperature },
        { name: "humidity", role: found.humidity },
    ]
}

/** Reads one channel, or undefined when it does not answer within `timeoutMs`. */
async function readWithin(
    channel: SensorChannel,
    timeoutMs: number
): Promise<number> {
    const done = ds.emitter<number>()
    setTimeout(async () => {
        try {
            done.emit(await channel.role.reading.read())
        } catch (e) {
            done.emit(NaN)
        }
    }, 0)
    const v = await ds.wait(done, timeoutMs)
    return typeof v === "number" && !isNaN(v) ? v : undefined
}

/**
 * Reads every channel, each bounded by `timeoutMs`; a channel that does not
 * answer is left out (and logged) so the others are still reported.
 */
export async function readSensors(
    channels: SensorChannel[],
    timeoutMs = READ_TIMEOUT_MS
): Promise<Record<string, ReadingValue>> {
    const values: Record<string, ReadingValue> = {}
    for (const c of channels) {
        const v = await readWithin(c, timeoutMs)
        if (v === undefined) console.warn(`sensors: ${c.name} did not answer`)
        else values[c.name] = Math.round(v * 100) / 100
    }
    return values
}
