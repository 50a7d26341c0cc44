import * as ds from "@devicescript/core"
import { SensorServer, startServer } from "@devicescript/server"

/**
 * A sensor hosted in the program, for the simulator and tests (nothing
 * answers a hardware driver there): serves `reading()` through the
 * temperature or humidity service spec, like a driver does on a board.
 */
class SimulatedSensorServer extends SensorServer {
    constructor(
        spec: ds.ServiceSpec,
        readonly read: () => Promise<number>
    ) {
        super(spec)
    }

    async reading() {
        return await this.read()
    }
}

/** Starts a simulated sensor server; returns the role name to bind a client to. */
export function startSimulatedSensor(
    spec: ds.ServiceSpec,
    read: () => Promise<number>
): string {
    return startServer(new SimulatedSensorServer(spec, read))
}
