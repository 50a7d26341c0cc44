/**
 * The simulator harness: runs firmware in the DeviceScript simulator outside test mode (real
 * sockets, normal GC, persistent flash), provisioned the way a USB-connected
 * board is: `devs devtools` compiles the program and deploys the bytecode
 * plus the `.env.defaults` settings to the simulated device (`devs vm`).
 *
 * ```ts
 * import { startSim } from "./sim/index.ts"
 * await using sim = await startSim({
 *     entry: "src/main.ts",
 *     settings: { DEVICE_NAME: "dev1", DEVICE_SECRET: "s3cr3t" },
 *     flashFile: "/tmp/scenario-a.bin",
 *     clearFlash: true,
 *     env: { NODE_EXTRA_CA_CERTS: caFile },
 * })
 * await sim.waitForLine(/accepted/, 30_000)
 * await sim.restart() // reboot: same flash, no redeploy
 * await sim.waitForLine(/token reused/)
 * ```
 *
 How it works (all measured with @devicescript/cli 2.16.4), module by module:
 * - `project.ts`: each session runs the CLI in a temporary "shadow"
 *   project with its own `.env.defaults` and flash file.
 * - `cli-process.ts`: `devs devtools` and `devs vm`, never outliving us.
 * - `devtools-channel.ts`: builds are requested over the dev tools side channel
 *   (`{"req":"build"}` on ws://127.0.0.1:8081, what the VS Code extension
 *   does): no file watching, no touching sources.
 * - `deploy.ts`: deploys do not go through dev tools: this process sends the compiled
 *   `.devicescript/bin/bytecode.devs` and the settings over the dev tools
 *   Jacdac TCP port 8082, with the packets dev tools would send
 *   once the device announces itself, retrying with
 *   backoff and without compiling again. Dev tools' own deploy compiles
 *   first, and on a loaded machine a compile longer than 3 s makes its bus
 *   drop the device the deploy then waits on (every try: deploy timeouts).
 * - `lock.ts`: only one session can exist per machine: the dev tools
 *   server always listens on 127.0.0.1:8081, 8082 and 8083.
 * - `device-log.ts`: the device lines and waiting for them.
 * - `session.ts`: the session's steps (boot, restart, deploy, stop).
 * - `SIM_TRACE=1` in the environment prints every tool and device line with
 *   the milliseconds since `startSim` to stderr.
 */
import { claimSimulator } from "./lock.ts"
import { makeSimProject, projectEntry } from "./project.ts"
import { Simulator, type SimOptions, type SimSession } from "./session.ts"
import { settingsToEnv } from "./settings-env.ts"

export { assertSimPortsFree, SIM_PORTS } from "./lock.ts"

/**
 * How long a user's command (`npm start`) waits for its turn at the
 * simulator while another session (a test, a benchmark) holds it.
 */
export const SIM_TURN_WAIT_MS = 180_000
export type { SimOptions, SimSession } from "./session.ts"
export {
    MAX_SETTING_BYTES,
    MAX_SETTING_KEY,
    settingsToEnv,
} from "./settings-env.ts"

/** The session of this process, from the start of `startSim` until it stops. */
let current: Promise<SimSession> | SimSession | undefined

/**
 * Starts dev tools and a simulated device, builds `entry`, deploys it with
 * `settings`, and resolves once the program has started on the device.
 * Throws if another session is running, on compile errors and on timeout.
 */
export async function startSim(options: SimOptions): Promise<SimSession> {
    if (current)
        throw new Error(
            "DeviceScript simulator: a session is already running in this process; stop it first"
        )
    const starting = bootSession(options)
    current = starting
    try {
        const session = await starting
        current = session
        return session
    } catch (e) {
        current = undefined
        throw e
    }
}

async function bootSession(options: SimOptions): Promise<SimSession> {
    // checked before anything starts
    const entry = projectEntry(options.entry)
    const settings = options.settings ?? {}
    settingsToEnv(settings)
    const release = await claimSimulator(options.waitForPortsMs ?? 0)
    let project
    try {
        project = makeSimProject({
            settings,
            flashFile: options.flashFile,
            clearFlash: options.clearFlash,
        })
    } catch (e) {
        release()
        throw e
    }
    const session = new Simulator(options, entry, project, () => {
        release()
        if (current === session) current = undefined
    })
    await session.boot()
    return session
}
