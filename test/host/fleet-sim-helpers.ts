// Shared by the fleet tests that run the real runtime in the simulator: a
// fleet of the two fixture programs with device `sim1` behind a running
// service, and the simulated device running v1 that is given its
// connection string over its Jacdac link.
import {
    startFleetService,
    type FleetService,
    type FleetServiceOptions,
} from "../../host/fleet/service/service.ts"
import { setConnectionStringFrame } from "../../host/jacdac/services.ts"
import { sendFramesToSimBus } from "../../host/jacdac/sim-bus.ts"
import { startSim, type SimSession } from "../../host/sim/index.ts"
import { WAIT_FOR_PORTS_MS } from "./e2e-helpers.ts"
import {
    buildFleetApp,
    publishSigned,
    registerDevice,
    releaseKeys,
    tempFleet,
    type TempFleet,
} from "./fleet-helpers.ts"

/** The runtime reconnects ~32 s after the last message it got. */
export const CHECK_IN_MS = 60_000

/** A fleet service with the fixture programs and device `sim1`. */
export interface SimFleet {
    readonly fleet: TempFleet
    readonly svc: FleetService
    /** The service's log lines. */
    readonly lines: string[]
    /** Closes the service and removes the fleet. */
    close(): Promise<void>
}

/**
 * Publishes fleet-app v1 and v2, registers `sim1` and starts the service
 * with `options`. The fixture programs never use the socket, so the
 * service may hold the link (a 10-minute hold).
 */
export async function startSimFleet(
    prefix: string,
    options: Partial<FleetServiceOptions> = {}
): Promise<SimFleet> {
    const fleet = tempFleet(prefix)
    const lines: string[] = []
    try {
        for (const v of ["v1", "v2"] as const)
            await publishSigned(
                fleet.store,
                fleet.artifacts,
                v,
                await buildFleetApp(v)
            )
        await registerDevice(fleet.store, "sim1")
        const svc = await startFleetService({
            store: fleet.store,
            artifacts: fleet.artifacts,
            releaseKey: releaseKeys.publicKey,
            holdMs: 600_000,
            log: l => lines.push(l),
            ...options,
        })
        return {
            fleet,
            svc,
            lines,
            async close() {
                await svc.close()
                await fleet.remove()
            },
        }
    } catch (e) {
        await fleet.remove()
        throw e
    }
}

/**
 * The simulated device running fleet-app v1, given `connectionString`
 * once v1 runs; `env` goes to the device process.
 */
export async function startFleetAppSim(
    connectionString: string,
    env?: Record<string, string>
): Promise<SimSession> {
    const sim = await startSim({
        entry: "test/fixtures/fleet-app-v1.ts",
        waitForPortsMs: WAIT_FOR_PORTS_MS,
        env,
        echo: !!process.env.E2E_ECHO,
    })
    try {
        await sim.waitForLine(/fleet-app v1 running/)
        await sendFramesToSimBus([setConnectionStringFrame(connectionString)])
        return sim
    } catch (e) {
        await sim.stop()
        throw e
    }
}
