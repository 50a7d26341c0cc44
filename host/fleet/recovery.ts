/**
 * Start-up recovery: whatever the service was doing when it stopped (a
 * kill, a crash, a power cut) is settled before it serves again, so no
 * device stays "connected" and no deploy stays "in-progress" for ever.
 */
import type { FleetStore } from "./storage.ts"

/**
 * Marks every device disconnected and every in-progress deploy failed
 * (counted as a failed attempt, so the retry limit still holds), in one
 * transaction, with an event per interrupted deploy.
 * @returns the ids of the devices whose deploy was interrupted
 */
export function settleInterruptedWork(
    store: FleetStore,
    now: number
): Promise<string[]> {
    return store.atomically(async tx => {
        const interrupted: string[] = []
        for (const st of await tx.states()) {
            if (st.lastDeployResult === "in-progress") {
                interrupted.push(st.id)
                await tx.updateState(st.id, {
                    connected: false,
                    lastDeployResult: "failed",
                    deployFailures: st.deployFailures + 1,
                    lastError: "the service stopped during the deploy",
                    lastErrorAt: now,
                })
                await tx.logEvent(
                    st.id,
                    "deploy-failed",
                    "the service stopped during the deploy"
                )
            } else if (st.connected)
                await tx.updateState(st.id, { connected: false })
        }
        return interrupted
    })
}
