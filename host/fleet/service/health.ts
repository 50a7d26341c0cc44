/**
 * The "silent after update" check: a device whose last deploy succeeded
 * and whose health is not known yet is marked healthy once it reports to
 * the platform, or silent (which may stop its rollout) when it has not
 * reported for `silentAfterMs` after the update.
 */
import type { DeviceRecord, FleetStore } from "../store/types.ts"
import { markBroken, type EventSink } from "../rollout/guard.ts"

/** When did `device` last report to the platform after `sinceMs`? Undefined: not since. */
export type ReportSource = (
    device: DeviceRecord,
    sinceMs: number
) => Promise<number | undefined> | number | undefined

/** What the check reads and writes. */
export interface HealthCheckDeps {
    store: FleetStore
    reportSource: ReportSource
    event: EventSink
    now: () => number
    /** A device that has not reported this long after its update is silent. */
    silentAfterMs: number
    /** Stop the rollout when a device it updated goes silent. */
    autoStop: boolean
}

/** Checks every device whose health after its last update is unknown. */
export async function checkHealth(d: HealthCheckDeps): Promise<void> {
    const { store, event } = d
    const t = d.now()
    for (const st of await store.unsettledStates()) {
        if (st.lastDeployResult !== "ok" || st.health !== "unknown") continue
        const device = await store.device(st.id)
        if (!device) continue
        const seen = await d.reportSource(device, st.lastDeployAt)
        if (seen !== undefined)
            await store.atomically(async tx => {
                // a deploy may have started since the states were read
                const now = await tx.state(st.id)
                if (now.lastDeployAt !== st.lastDeployAt) return
                await tx.updateState(st.id, { health: "ok" })
                await event(tx, st.id, "healthy", "reports after the update")
            })
        else if (t - st.lastDeployAt > d.silentAfterMs)
            await markBroken(
                store,
                event,
                st.id,
                "silent",
                `no report ${Math.round((t - st.lastDeployAt) / 1000)} s after the update`,
                { autoStop: d.autoStop, now: t }
            )
    }
}
