/**
 * Battery mode, measured: the firmware in the simulator against the
 * emulator with `SLEEP_S` and `POST_EVERY`, the harness emulating each deep
 * sleep. Per wake: the program's time from start to `standby` (its own
 * `wake:` line), with and without a post; per reading: bytes on the wire and
 * bytes written to the settings store (read from the simulator's flash
 * image); then the day at one reading every 10 minutes and a post an hour,
 * and the projected life on 2 x AA (host/bench/battery-life.ts).
 */
import { readFileSync } from "node:fs"
import { readingMessages, readingsOf, startFirmware } from "../firmware.ts"
import { startPlatform } from "../platform/index.ts"
import { batteryLife, ESP32C3_2XAA, flashYears } from "./battery-life.ts"
import type { Figure } from "./figures.ts"

const DEVICE = {
    productKey: "a1BenchBat1",
    deviceName: "bench-battery-1",
    deviceSecret: "benchBatterySecret0123456789abcd",
}
/** One post every this many wakes in the run (and a day's hourly post at 10 min). */
const POST_EVERY = 6
/** Wakes measured after the first (which posts to learn the time). */
const WAKES = 2 * POST_EVERY
/**
 * The settings area of an ESP32-C3: devicescript-esp32
 * `boards/esp32c3/arch.json` (fstorPages 64) and `main/jd_user_config.h`
 * (JD_FLASH_PAGE_SIZE 4096); jacdac-c `source/jd_fstor.c` gives the
 * settings header areas total/16 pages each: 4 pages, 16 KB, two of them.
 */
const ESP32_SETTINGS_AREA = (64 / 16) * 4096
/** Rated erase cycles of the ESP32-C3's flash (datasheet: 100,000 minimum). */
const ERASE_CYCLES = 100_000

/** Every entry of the active settings header: key and value size. */
function storeEntries(flash: Buffer): {
    entries: { key: string; size: number }[]
    areaBytes: number
} {
    const valid = (at: number) =>
        flash.readUInt32LE(at) === 0x52545346 &&
        flash.readUInt32LE(at + 4) === 0x6becea0a
    if (!valid(0))
        throw new Error("bench: no settings store in the flash image")
    const areaBytes = flash.readUInt32LE(12) * flash.readUInt16LE(18)
    let base = 0
    if (
        valid(areaBytes) &&
        flash.readUInt32LE(areaBytes + 8) > flash.readUInt32LE(8)
    )
        base = areaBytes
    const entries = []
    for (let e = base + 24; e + 24 <= base + areaBytes; e += 24) {
        if (flash.readUInt32LE(e + 16) === 0xffffffff) break
        const raw = flash.subarray(e, e + 16)
        const key = raw.subarray(0, raw.indexOf(0)).toString("latin1")
        entries.push({ key, size: flash.readUInt32LE(e + 20) })
    }
    return { entries, areaBytes }
}

/** Bytes the store spends on entries: 24 each plus the value in 8-byte steps. */
function storeBytes(entries: { size: number }[]) {
    return entries.reduce(
        (n, e) => n + 24 + (Math.ceil(e.size / 8) || 1) * 8,
        0
    )
}

function median(xs: number[]) {
    const s = [...xs].sort((a, b) => a - b)
    return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN
}

/** Runs the battery-mode scenario and gives its figures. */
export async function batteryFigures(): Promise<Figure[]> {
    const platform = await startPlatform({
        devices: [DEVICE],
        adminPort: false,
    })
    const sim = await startFirmware(
        platform,
        {
            PRODUCT_KEY: DEVICE.productKey,
            DEVICE_NAME: DEVICE.deviceName,
            DEVICE_SECRET: DEVICE.deviceSecret,
            HOST: "127.0.0.1",
            PORT: String(platform.port),
            SLEEP_S: "2",
            POST_EVERY: String(POST_EVERY),
        },
        { clearFlash: true, waitForPortsMs: 600_000 }
    )
    try {
        const wake = async () => {
            const w = await sim.waitForLine(
                /^wake: .*awake (\d+) ms \(program (\d+) ms\)/,
                120_000
            )
            const s = await sim.waitForLine(/^sleep: (\d+) ms/, 30_000)
            return { line: w[0], awake: +w[2], uptime: +w[1], sleepMs: +s[1] }
        }
        // the first wake posts (time, token); measure from the next one
        let w = await wake()
        // the flash image is read while the device is stopped
        let flash0 = 0
        let last: ReturnType<typeof storeEntries> | undefined
        const image = () => storeEntries(readFileSync(sim.flashFile))
        await sim.sleepAndWake(w.sleepMs, undefined, () => {
            flash0 = image().entries.length
        })
        const fromReq = platform.requests().length
        const fromMsg = readingMessages(platform).length
        const tls0 = platform.stats().tlsConnections
        const auth0 = platform.auths().length
        const post: number[] = []
        const noPost: number[] = []
        const uptimes: number[] = []
        for (let i = 0; i < WAKES; i++) {
            w = await wake()
            ;(/posted/.test(w.line) ? post : noPost).push(w.awake)
            uptimes.push(w.uptime)
            if (!/posted|not due/.test(w.line))
                throw new Error(
                    `bench: a wake did not go as planned: ${w.line}`
                )
            await sim.sleepAndWake(
                w.sleepMs,
                undefined,
                i === WAKES - 1 ? () => void (last = image()) : undefined
            )
        }
        const { entries, areaBytes } = last!
        // every write of the measured wakes
        const perWake = entries.slice(flash0)
        const flashBytes = storeBytes(perWake)
        const readings = WAKES
        const live = new Map<string, number>()
        // settings only: large entries (`*prog`, the bytecode) have pages of their own
        for (const e of entries) if (e.key[0] !== "*") live.set(e.key, e.size)
        const liveBytes = storeBytes([...live.values()].map(size => ({ size })))
        const reqs = platform
            .requests()
            .slice(fromReq)
            .filter(
                r => r.url.startsWith("/topic/") && !r.url.includes("/ota/")
            )
        const carried = readingMessages(platform)
            .slice(fromMsg)
            .reduce((n, m) => n + readingsOf(m.body).length, 0)
        const wire = reqs.reduce((n, r) => n + (r.wireBytes ?? 0), 0)
        const posts = post.length
        const tlsPerPost = (platform.stats().tlsConnections - tls0) / posts
        const authsPerPost = (platform.auths().length - auth0) / posts
        const flashPerReading = flashBytes / readings
        const day = { wakesPerDay: 144, postsPerDay: 24 }
        const life = batteryLife({
            ...day,
            awakeMsNoPost: median(noPost),
            awakeMsPost: median(post),
        })
        const years = (perDay: number) =>
            flashYears({
                bytesPerReading: flashPerReading,
                readingsPerDay: perDay,
                areaBytes: ESP32_SETTINGS_AREA,
                liveBytes,
                cycles: ERASE_CYCLES,
            })
        const a = ESP32C3_2XAA
        console.log(
            `  simulator settings area ${areaBytes} bytes; live settings ${liveBytes} bytes; ` +
                `${perWake.length} store entries in ${readings} wakes`
        )
        console.log("  battery life assumptions:")
        for (const [k, v] of Object.entries(a))
            console.log(`    ${k} = ${v.value} ${v.unit}: ${v.source}`)
        return [
            {
                name: "battery-awake-no-post",
                value: median(noPost),
                unit: "ms",
                about: `program start to standby, median of ${noPost.length} wakes that did not post (simulator)`,
            },
            {
                name: "battery-uptime-at-standby",
                value: median(uptimes),
                unit: "ms",
                about: "the simulated runtime's uptime at standby, its own start-up included (a board's boot is an assumption below)",
            },
            {
                name: "battery-awake-post",
                value: median(post),
                unit: "ms",
                about: `the same for ${posts} wakes that posted ${POST_EVERY} readings (simulator, local emulator)`,
            },
            {
                name: "battery-wire-per-reading",
                value: Math.round(wire / carried),
                unit: "bytes",
                about: `request bytes on the wire per reading, posts of ${POST_EVERY} (json batch)`,
            },
            {
                name: "battery-tls-per-post",
                value: tlsPerPost,
                unit: "",
                about: "TLS handshakes per post",
            },
            {
                name: "battery-auth-per-post",
                value: authsPerPost,
                unit: "",
                about: "/auth calls per post while the stored token is valid",
            },
            {
                name: "battery-tls-per-day",
                value: tlsPerPost * day.postsPerDay,
                unit: "",
                about: "TLS handshakes a day at a reading every 10 min, a post an hour",
            },
            {
                name: "battery-auth-per-day",
                value: authsPerPost * day.postsPerDay,
                unit: "",
                about: "/auth a day at those settings (plus one per token life: 2 or 7 days)",
            },
            {
                name: "battery-flash-per-reading",
                value: Math.round(flashPerReading),
                unit: "bytes",
                about: "settings store bytes written per reading (seq, block, record, state, trims)",
            },
            {
                name: "battery-flash-years-1min",
                value: Math.round(years(1440)),
                unit: "years",
                about: `until ${ERASE_CYCLES} erase cycles of the 2 x 16 KB settings area, a reading a minute`,
            },
            {
                name: "battery-flash-years-10min",
                value: Math.round(years(144)),
                unit: "years",
                about: "the same at a reading every 10 min",
            },
            {
                name: "battery-mah-per-day",
                value: +life.mAhPerDay.toFixed(2),
                unit: "mAh",
                about: "ESP32-C3, 10 min readings, hourly posts (assumptions above)",
            },
            {
                name: "battery-life-2xAA",
                value: +(life.days / 365.25).toFixed(2),
                unit: "years",
                about: "projected on 2 x AA 2500 mAh (assumptions above)",
            },
        ]
    } finally {
        await sim.stop()
        await platform.close()
    }
}
