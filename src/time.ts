import * as ds from "@devicescript/core"
import { parseDigits } from "./digits"

const MONTHS = [
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
]
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
const LONG_DAYS = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
]
const MS_PER_DAY = 86400000

/**
 * Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12),
 * after H. Hinnant's days_from_civil. Pure integer arithmetic.
 */
export function daysFromCivil(y: number, m: number, d: number): number {
    if (m <= 2) y -= 1
    const era = Math.floor(y / 400)
    const yoe = y - era * 400
    const mp = m > 2 ? m - 3 : m + 9
    const doy = Math.floor((153 * mp + 2) / 5) + d - 1
    const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
    return era * 146097 + doe - 719468
}

function isLeap(y: number) {
    return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
}

/** Days in month m (1..12) of year y. */
export function daysInMonth(y: number, m: number): number {
    if (m === 2) return isLeap(y) ? 29 : 28
    return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31
}

function epochMs(
    y: number,
    mon: string,
    d: number,
    hms: string,
    weekday: number
): number {
    const m = MONTHS.indexOf(mon) + 1
    if (m < 1 || !(y >= 1970) || !(y <= 9999)) return NaN
    if (!(d >= 1) || d > daysInMonth(y, m)) return NaN
    const t = hms.split(":")
    if (t.length !== 3) return NaN
    const hh = parseDigits(t[0], 2, 2)
    const mm = parseDigits(t[1], 2, 2)
    let ss = parseDigits(t[2], 2, 2)
    if (!(hh <= 23) || !(mm <= 59) || !(ss <= 60)) return NaN
    if (ss === 60) ss = 59 // leap second: stay within the same minute
    const days = daysFromCivil(y, m, d)
    if ((days + 4) % 7 !== weekday) return NaN // 1970-01-01 was a Thursday
    return days * MS_PER_DAY + ((hh * 60 + mm) * 60 + ss) * 1000
}

/**
 * Parses an HTTP `Date` header value to milliseconds since the Unix epoch.
 * Accepts IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete
 * forms HTTP recipients must accept (RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`,
 * asctime `Sun Nov  6 08:49:37 1994`). The weekday must match the date.
 * @returns epoch ms, or NaN when the value is not a valid date at or after 1970
 */
export function parseHttpDate(value: string): number {
    if (typeof value !== "string" || value.length > 64) return NaN
    const p = value
        .trim()
        .split(" ")
        .filter(s => s.length > 0)
    if (p.length === 6 && p[5] === "GMT" && p[0].endsWith(",")) {
        // IMF-fixdate
        const wd = DAYS.indexOf(p[0].slice(0, -1))
        if (wd < 0) return NaN
        return epochMs(
            parseDigits(p[3], 4, 4),
            p[2],
            parseDigits(p[1], 2, 2),
            p[4],
            wd
        )
    }
    if (p.length === 4 && p[3] === "GMT" && p[0].endsWith(",")) {
        // RFC 850, two-digit year: 70..99 -> 19xx, 00..69 -> 20xx
        const wd = LONG_DAYS.indexOf(p[0].slice(0, -1))
        const dmy = p[1].split("-")
        if (wd < 0 || dmy.length !== 3) return NaN
        let y = parseDigits(dmy[2], 2, 2)
        y += y >= 70 ? 1900 : 2000
        return epochMs(y, dmy[1], parseDigits(dmy[0], 2, 2), p[2], wd)
    }
    if (p.length === 5) {
        // asctime
        const wd = DAYS.indexOf(p[0])
        if (wd < 0) return NaN
        return epochMs(
            parseDigits(p[4], 4, 4),
            p[1],
            parseDigits(p[2], 1, 2),
            p[3],
            wd
        )
    }
    return NaN
}

/**
 * Wall-clock time kept as an offset from `ds.millis()` (time since boot),
 * learned from server `Date` headers (1 s resolution).
 */
export class WallClock {
    /** wall = ds.millis() + offsetMs; NaN until the first sync. */
    offsetMs = NaN

    /** True once a valid `Date` has been seen. */
    synced() {
        return !isNaN(this.offsetMs)
    }

    /**
     * Learns the offset from a `Date` header value received at local time
     * `atMillis` (default now). Invalid values are ignored.
     * @returns true when the clock was updated
     */
    syncFromDate(value: string, atMillis?: number): boolean {
        const t = parseHttpDate(value)
        if (isNaN(t)) return false
        if (atMillis === undefined) atMillis = ds.millis()
        this.offsetMs = t - atMillis
        return true
    }

    /** Wall-clock epoch ms (whole) at local time `atMillis` (default now); NaN if unsynced. */
    now(atMillis?: number): number {
        if (atMillis === undefined) atMillis = ds.millis()
        return Math.floor(atMillis + this.offsetMs)
    }
}
