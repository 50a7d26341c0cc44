import * as ds from "@devicescript/core"
import {
    startAHT20,
    startBME680,
    startSHT30,
    startSHTC3,
} from "@devicescript/drivers"
import { readSettingBounded } from "./settings-read"
import { within } from "./within"
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

/**
 * Settings key: `SENSOR=AHT20` (or SHTC3, SHT30, BME680) picks the driver,
 * overriding the board's declaration; `SENSOR=probe` tries them all.
 */
export const SENSOR_KEY = "SENSOR"

/** Board configuration key (in `boards/<id>.board.json`) naming the board's sensor driver. */
export const BOARD_SENSOR_KEY = "sensor"

/** Drivers tried in order on hardware when nothing is declared; the first one that answers is used. */
const DRIVERS: [string, Starter][] = [
    ["SHTC3", async () => await startSHTC3()],
    ["SHT30", async () => await startSHT30()],
    ["AHT20", async () => await startAHT20()],
    ["BME680", async () => await startBME680()],
]

/** Names of the drivers, in probe order. */
export const DRIVER_NAMES = DRIVERS.map(d => d[0])

/** Which drivers to try, in order, and why (for the log line). */
export interface SensorPlan {
    order: string[]
    /** `setting SENSOR`, `board`, or `probe` */
    source: string
    /** a declared name that is not a known driver, if any */
    problem?: string
}

/**
 * Orders the drivers: the one named by the `SENSOR` setting, else the one
 * the board declares, first, then the others in probe order (the
 * fallback when the declared sensor does not answer). Pure.
 */
export function planSensors(setting: string, boardSensor: string): SensorPlan {
    let problem: string
    const pick = (name: string, source: string): SensorPlan => {
        const upper = name.toUpperCase()
        if (upper === "PROBE") return { order: DRIVER_NAMES, source }
        if (DRIVER_NAMES.indexOf(upper) < 0) {
            problem = `${source} names '${name}', not one of ${DRIVER_NAMES.join(", ")}`
            return undefined
        }
        return {
            order: [upper, ...DRIVER_NAMES.filter(n => n !== upper)],
            source,
        }
    }
    let plan: SensorPlan
    if (typeof setting === "string" && setting.length)
        plan = pick(setting, `setting ${SENSOR_KEY}`)
    if (!plan && typeof boardSensor === "string" && boardSensor.length)
        plan = pick(boardSensor, "board")
    if (!plan) plan = { order: DRIVER_NAMES, source: "probe" }
    if (problem) plan.problem = problem
    return plan
}

function starter(name: string): Starter {
    for (const d of DRIVERS) if (d[0] === name) return d[1]
    return undefined
}

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

/** A sensor setting, or "" (the default) when it cannot be read. */
async function sensorSetting(key: string): Promise<string> {
    try {
        return await readSettingBounded(key, "")
    } catch (e) {
        console.warn(`sensors: ${(e as Error).message}; using the default`)
        return ""
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
        const mode: string = await sensorSetting(SIM_SENSOR_KEY)
        // "stuck-humidity" -> the humidity sensor stops answering
        const stuck = mode.indexOf("stuck-") === 0 ? mode.slice(6) : ""
        found = startSimulatedSensors(stuck)
        console.log(
            `sensors: simulated temperature and humidity${mode ? ", " + mode : ""}`
        )
    } else {
        const setting = await sensorSetting(SENSOR_KEY)
        const declared = ds._dcfgString(BOARD_SENSOR_KEY as any)
        const plan = planSensors(setting, declared)
        if (plan.problem) console.warn(`sensors: ${plan.problem}; probing`)
        for (let i = 0; i < plan.order.length; i++) {
            const name = plan.order[i]
            try {
                const start = starter(name)
                found = await start()
                console.log(
                    `sensors: ${name} temperature and humidity (${i === 0 ? plan.source : "fallback"})`
                )
                break
            } catch (e) {
                if (i === 0 && plan.source !== "probe")
                    console.warn(
                        `sensors: ${name} (${plan.source}) did not answer; trying the others`
                    )
                else console.debug(`sensors: no ${name}`)
            }
        }
        if (!found)
            console.warn(
                `sensors: none answered (tried ${plan.order.join(", ")}); check the wiring and the I2C pins; reporting without readings`
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
    const r = await within(
        async () => await channel.role.reading.read(),
        timeoutMs
    )
    const v = r ? r.value : undefined
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
