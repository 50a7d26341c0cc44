/**
 * The health check's report source for the platform emulator's admin API
 * (`GET /messages?productKey=..&deviceName=..&limit=1`): when a device last
 * reported to the platform. Every
 * request has a deadline, so a platform that accepts and never answers
 * fails the check with a clear error instead of holding it for ever.
 */
import type { ReportSource } from "./health.ts"

/** Longest wait for the platform's answer (default of {@link platformReports}). */
export const PLATFORM_TIMEOUT_MS = 5000

/** Reports source for the platform emulator at `adminUrl`. */
export function platformReports(
    adminUrl: string,
    timeoutMs = PLATFORM_TIMEOUT_MS
): ReportSource {
    return async (d, since) => {
        if (!d.platformId) return undefined
        const [pk, dn] = d.platformId.split("/")
        if (!pk || !dn) return undefined
        // the device's newest message (the list is answered a page at a
        // time: without the filter, others' messages could hide it)
        const url = new URL("/messages", adminUrl)
        url.search = new URLSearchParams({
            productKey: pk,
            deviceName: dn,
            limit: "1",
        }).toString()
        let msgs: { time: string; productKey: string; deviceName: string }[]
        try {
            const r = await fetch(url, {
                signal: AbortSignal.timeout(timeoutMs),
            })
            if (!r.ok) throw new Error(`HTTP ${r.status}`)
            msgs = await r.json()
        } catch (e) {
            const err = e as Error
            throw new Error(
                err.name === "TimeoutError"
                    ? `the health source ${url.origin} did not answer within ${timeoutMs} ms`
                    : `the health source ${url.origin}: ${err.message}`
            )
        }
        const m = msgs.filter(
            x =>
                x.productKey === pk &&
                x.deviceName === dn &&
                Date.parse(x.time) >= since
        )
        return m.length ? Date.parse(m[m.length - 1].time) : undefined
    }
}
