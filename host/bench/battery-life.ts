/**
 * Battery mode arithmetic: the charge a day costs and the years the settings
 * flash lasts, from measured per-wake figures and stated hardware
 * assumptions (each with its source). Pure.
 */

/** One assumption: its value, unit and where it comes from. */
export interface Assumption {
    value: number
    unit: string
    source: string
}

/**
 * ESP32-C3 on 2 x AA. Currents from Espressif's ESP32-C3 Series Datasheet
 * (v1.x, section "Current Consumption"); the radio's time per post is a
 * typical association + DHCP + one TLS handshake, which the datasheet does
 * not give (DESIGN.md: "about a second or two at ~100 mA").
 */
export const ESP32C3_2XAA: Record<string, Assumption> = {
    capacityMah: {
        value: 2500,
        unit: "mAh",
        source: "2 x AA alkaline, about 2,500 mAh each at low drain (the pair in series: 2,500 mAh at 3 V)",
    },
    usableFraction: {
        value: 0.8,
        unit: "",
        source: "assumed: cold, self-discharge and the cut-off voltage leave about 80 % usable",
    },
    converterEfficiency: {
        value: 0.85,
        unit: "",
        source: "assumed boost converter: the ESP32-C3 needs 3.0-3.6 V (datasheet, recommended operating conditions), 2 x AA give 3.2 V falling to 2.0 V",
    },
    converterQuiescentUa: {
        value: 5,
        unit: "uA",
        source: "assumed low-quiescent boost converter (e.g. TI TPS61099: about 1 uA; a board's LDO can draw 5 mA instead)",
    },
    deepSleepUa: {
        value: 5,
        unit: "uA",
        source: "ESP32-C3 datasheet: deep sleep with the RTC timer, 5 uA typical",
    },
    cpuMa: {
        value: 25,
        unit: "mA",
        source: "ESP32-C3 datasheet: active at 160 MHz with the radio off (modem-sleep), about 20-28 mA",
    },
    bootMs: {
        value: 600,
        unit: "ms",
        source: "assumed: ROM and second-stage bootloader, then the DeviceScript runtime and program load, per wake from deep sleep",
    },
    radioMa: {
        value: 100,
        unit: "mA",
        source: "ESP32-C3 datasheet: RX 82-84 mA, TX 8.5 dBm-21 dBm 190-335 mA in bursts; about 100 mA on average while associating (DESIGN.md)",
    },
    radioSPerPost: {
        value: 3,
        unit: "s",
        source: "assumed: Wi-Fi scan + association + DHCP about 2 s (Espressif's figures, DESIGN.md), one TLS handshake and the request about 1 s",
    },
}

/** What a day of battery mode costs, from measured and assumed figures. */
export interface DayInput {
    /** wakes a day (readings) */
    wakesPerDay: number
    /** posts a day */
    postsPerDay: number
    /** measured program time of a wake without a post (boot to standby), ms */
    awakeMsNoPost: number
    /** measured program time of a wake with a post, ms (the radio time is assumed on top) */
    awakeMsPost: number
}

/** Charge a day in mAh at the battery, and the projected life in days. */
export function batteryLife(
    d: DayInput,
    a: Record<string, Assumption> = ESP32C3_2XAA
): { mAhPerDay: number; days: number } {
    const v = (k: string) => a[k].value
    const mas = (ma: number, ms: number) => (ma * ms) / 1000 // mA*s
    const noPost = d.wakesPerDay - d.postsPerDay
    let mAs = 0
    mAs += noPost * mas(v("cpuMa"), v("bootMs") + d.awakeMsNoPost)
    mAs += d.postsPerDay * mas(v("cpuMa"), v("bootMs") + d.awakeMsPost)
    mAs += d.postsPerDay * v("radioSPerPost") * v("radioMa")
    mAs += ((v("deepSleepUa") + v("converterQuiescentUa")) / 1000) * 86400
    const atChip = mAs / 3600
    const mAhPerDay = atChip / v("converterEfficiency")
    const days = (v("capacityMah") * v("usableFraction")) / mAhPerDay
    return { mAhPerDay, days }
}

/**
 * Years until the settings area wears out. The runtime's store (jacdac-c
 * `source/jd_fstor.c`) appends each setting write as a 24-byte entry plus
 * its value rounded up to 8 bytes, in a header area of `areaBytes`; when
 * full it erases the other header area and copies the live settings there,
 * so each flash page of the two areas is erased once per two collections.
 */
export function flashYears(o: {
    /** bytes one reading costs in the store (entries + values) */
    bytesPerReading: number
    readingsPerDay: number
    /** one header area (ESP32: 4 pages of 4 KB) */
    areaBytes: number
    /** bytes the live settings take after a collection */
    liveBytes: number
    /** rated erase cycles of a page */
    cycles: number
}): number {
    const perCollection = o.areaBytes - 24 - o.liveBytes
    const collectionsPerDay =
        (o.bytesPerReading * o.readingsPerDay) / perCollection
    const erasesPerPagePerDay = collectionsPerDay / 2
    return o.cycles / erasesPerPagePerDay / 365.25
}
