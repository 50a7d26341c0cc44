/**
 * Recovery: whatever an instance was doing when it stopped (a kill, a
 * crash, a power cut) is settled, so no device stays "connected" and no
 * deploy stays "in-progress" for ever. Several instances may share the
 * store: a deploy another instance still runs (its deploy lease holds) and
 * a connection a live instance holds are left alone.
 */
import { deployLease, type InstanceLeases } from "./leases.ts"
import type { FleetStore } from "../store/types.ts"

/**
 * Marks failed every in-progress deploy whose deploy lease is free or
 * expired, or held by an instance that is gone (its own lease expired: the
 * deploy lease goes with it; `deployBy`, else the connection's instance)
 * (counted as a failed attempt, so the retry limit still holds,
 * with an event each) and disconnected every device whose connection's
 * instance is gone, in one transaction.
 * `busy` tells the devices this instance deploys to now (left alone).
 * A lease taken here is given up at once.
 * @returns the ids of the devices whose deploy was interrupted
 */
export function settleInterruptedWork(
    store: FleetStore,
    now: number,
    leases: InstanceLeases,
    busy: (deviceId: string) => boolean = () => false
): Promise<string[]> {
    return store.atomically(async tx => {
        const interrupted: string[] = []
        const known = new Map<string, boolean>()
        const instanceGone = async (owner: string) => {
            if (!known.has(owner))
                known.set(owner, !(await leases.alive(owner, tx)))
            return known.get(owner)!
        }
        for (const st of await tx.unsettledStates()) {
            const gone =
                !!st.connectedTo && (await instanceGone(st.connectedTo))
            // "": written before instances had ids, or by none
            const disconnect = st.connected && (gone || !st.connectedTo)
            const deployer = st.deployBy || st.connectedTo
            if (
                st.lastDeployResult === "in-progress" &&
                deployer &&
                (await instanceGone(deployer))
            )
                await tx.releaseLease(deployLease(st.id), deployer)
            if (
                st.lastDeployResult === "in-progress" &&
                !busy(st.id) &&
                (await leases.deploy(st.id, tx))
            ) {
                interrupted.push(st.id)
                await tx.updateState(st.id, {
                    ...(disconnect
                        ? { connected: false, connectedTo: "" }
                        : {}),
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
                await leases.releaseDeploy(st.id, tx)
            } else if (disconnect)
                await tx.updateState(st.id, {
                    connected: false,
                    connectedTo: "",
                })
        }
        return interrupted
    })
}
