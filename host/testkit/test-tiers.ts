/**
 * Which host test files `npm test -- --fast` runs: the unit tests. It leaves
 * out the files that start the DeviceScript simulator (found from their
 * imports, see test-imports.ts) and the integration files listed here by
 * name, which build firmware for every board, drive a browser, run the
 * project's tools as processes or kill them. `npm test` runs them all.
 */
import { basename } from "node:path"
import { startsSimulator } from "./test-imports.ts"

/** Host test files that are integration tests, and why. */
export const INTEGRATION_HOST_FILES: Record<string, string> = {
    "boards.test.ts": "builds the firmware for each supported board",
    "release.test.ts": "builds and signs release images with the CLI",
    "console.test.ts": "drives the fleet console in a browser",
    "console-readme-e2e.test.ts":
        "runs the console guide's commands in a browser",
    "console-backends.test.ts": "runs the console on both stores in a browser",
    "fleet-cli.test.ts": "runs the fleet CLI as processes",
    "fleet-enrol.test.ts": "runs fleet enrol as processes",
    "fleet-crash.test.ts": "kills a fleet service process mid-deploy",
    "fleet-instance-kill.test.ts": "kills one of two fleet service processes",
    "fleet-attack.test.ts": "floods fleet service processes from 64 addresses",
}

/** Why `--fast` leaves the host test `file` out, or undefined if it runs it. */
export function leftOutOfFast(file: string): string | undefined {
    if (startsSimulator(file)) return "starts the simulator"
    return INTEGRATION_HOST_FILES[basename(file)]
}
