/**
 * `npm run provision -- COMMAND ...`: fleet provisioning.
 *
 *   check FLEET                          validate; every bad row with its line
 *   images FLEET --board ID [--out DIR] [--devs FILE]
 *                                        per-device store images + manifests
 *   write FLEET --device NAME [--product PK] [--port 8082] [--device-id HEX] [--reset]
 *         [--fleet-state DIR] [--timeout S]
 *                                        settings (and Wi-Fi) over the settings service;
 *                                        a row with a fleetId is also enrolled in the
 *                                        fleet service running on DIR (default state/fleet)
 *   join --board ID --base FW.bin --part DEV.fstor.bin [--out FULL.bin]
 *                                        one flashable image from firmware + part
 *                                        (default out: state/provision/ID/DEV.full.bin)
 *
 * Output never contains a secret. Keep fleet files and images under
 * `state/` (gitignored) or outside the repository.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { basename, dirname, join } from "node:path"
import { boardArch } from "./boards.ts"
import { tryBuildFirmware } from "../lib/build.ts"
import { TtyProgress } from "../lib/cli-progress.ts"
import { helpText, readCommandLine } from "../lib/args.ts"
import { formatErrors, parseFleet, type FleetResult } from "./fleet-file.ts"
import { devicePart, joinImage, partManifest } from "./image.ts"
import { writeSettings } from "./settings-writer.ts"
import { enrolOnBus, prepareEnrol } from "../fleet/index.ts"
import { PROVISION_COMMAND } from "./command.ts"

const USAGE = helpText(PROVISION_COMMAND)

function fail(msg: string): never {
    console.error(msg)
    process.exit(1)
}

function loadFleet(file: string | undefined): FleetResult {
    if (!file) fail(USAGE)
    const r = parseFleet(readFileSync(file, "utf8"), basename(file))
    if (r.errors.length) {
        console.error(formatErrors(r.errors))
        fail(
            `${file}: ${r.errors.length} problem(s) in ${new Set(r.errors.map(e => e.line)).size} row(s); nothing provisioned`
        )
    }
    return r
}

/** `state/provision/<board>/<part name>.full.bin` (relative to the working directory). */
function defaultJoinOut(board: string, part: string) {
    const name = basename(part).replace(/(\.fstor)?\.bin$/i, "")
    return join("state/provision", board, `${name}.full.bin`)
}

/** Writes a file only its owner can read (images hold secrets). */
function writePrivate(path: string, data: string | Uint8Array) {
    writeFileSync(path, data, { mode: 0o600 })
    chmodSync(path, 0o600)
}

async function main(argv: string[]) {
    const { values: o, positionals } = readCommandLine(
        PROVISION_COMMAND,
        "provision",
        argv
    )
    const [cmd, file] = positionals
    switch (cmd) {
        case "check": {
            const r = loadFleet(file)
            console.log(`${file}: ${r.devices.length} device(s), all valid`)
            return
        }
        case "images": {
            if (!o.board) fail("images: --board ID is required")
            const arch = boardArch(o.board)
            const r = loadFleet(file)
            let bytecode: Buffer
            if (o.devs) bytecode = readFileSync(o.devs)
            else {
                const b = await tryBuildFirmware({ board: o.board })
                if (!b.ok) fail(`build for ${o.board} failed:\n${b.output}`)
                bytecode = b.bytecode!
            }
            const out = o.out ?? join("state/provision", o.board)
            mkdirSync(out, { recursive: true, mode: 0o700 })
            // on a terminal: a counter with the total while the images are written
            const progress = new TtyProgress("images", r.devices.length)
            for (const d of r.devices) {
                const part = devicePart(arch, bytecode, d.settings)
                const m = partManifest(
                    arch,
                    o.board,
                    bytecode,
                    d.settings,
                    part
                )
                const name = `${d.productKey}__${d.deviceName}`
                // the runtime keeps the connection string in its own flash
                // key, which a settings image cannot hold: enrol after flashing
                const fleet = d.fleetId
                    ? {
                          fleet: {
                              id: d.fleetId,
                              enrolled: false,
                              todo: `after flashing, with the board on USB under devs devtools --serial: npm run fleet -- enrol ${d.fleetId}`,
                          },
                      }
                    : {}
                writePrivate(join(out, `${name}.fstor.bin`), part)
                writePrivate(
                    join(out, `${name}.json`),
                    JSON.stringify({ ...m, ...fleet }, null, 2) + "\n"
                )
                progress.log(
                    `${name}: ${part.length} bytes for ${m.flashAddress} (program ${m.programBytes} bytes, ${m.settingKeys.length} settings)`
                )
                if (d.wifi)
                    progress.log(
                        `${name}: Wi-Fi is not in the image; add it with 'write' or 'devs devtools' after flashing`
                    )
                if (d.fleetId)
                    progress.log(
                        `${name}: fleet device ${d.fleetId} is not enrolled by the image; after flashing: npm run fleet -- enrol ${d.fleetId}`
                    )
                progress.tick()
            }
            progress.end()
            console.log(`wrote ${r.devices.length} image(s) to ${out}`)
            return
        }
        case "write": {
            if (!o.device) fail("write: --device NAME is required")
            const r = loadFleet(file)
            const matches = r.devices.filter(
                d =>
                    d.deviceName === o.device &&
                    (!o.product || d.productKey === o.product)
            )
            if (matches.length !== 1)
                fail(
                    `${matches.length} rows match device ${o.device}${o.product ? "" : " (add --product PK)"}`
                )
            const d = matches[0]
            const port = o.port ? +o.port : undefined
            // before anything is written: the fleet ID is known, the service up
            const plan = d.fleetId
                ? await prepareEnrol({
                      id: d.fleetId,
                      stateDir: o["fleet-state"] ?? "state/fleet",
                  })
                : undefined
            const res = await writeSettings({
                settings: d.settings,
                wifi: d.wifi,
                host: o.host,
                port,
                deviceId: o["device-id"],
                // a fleet member is reset only once it is enrolled
                reset: o.reset && !plan,
                log: l => console.log(l),
            })
            console.log(
                `${d.productKey}/${d.deviceName}: ${res.written.length} settings written to ${res.deviceId}`
            )
            if (plan) {
                const e = await enrolOnBus(plan, {
                    jacdacPort: port,
                    jacdacHost: o.host,
                    busDeviceId: res.deviceId,
                    connectTimeoutMs: o.timeout ? +o.timeout * 1000 : undefined,
                    log: l => console.log(l),
                })
                console.log(
                    `${d.productKey}/${d.deviceName}: enrolled as fleet device ${plan.id}, connected (${(e.connectedAfterMs / 1000).toFixed(1)} s)`
                )
                if (o.reset)
                    await writeSettings({
                        settings: {},
                        host: o.host,
                        port,
                        deviceId: res.deviceId,
                        reset: true,
                        log: l => console.log(l),
                    })
            }
            return
        }
        case "join": {
            if (!o.board || !o.base || !o.part)
                fail("join: --board, --base and --part are required")
            const arch = boardArch(o.board)
            // the joined image holds the device's secret: under state/ (gitignored) by default
            const out = o.out ?? defaultJoinOut(o.board, o.part)
            mkdirSync(dirname(out), { recursive: true, mode: 0o700 })
            const full = joinImage(
                arch,
                readFileSync(o.base),
                readFileSync(o.part)
            )
            writePrivate(out, full)
            console.log(
                `${out}: ${full.length} bytes; write it at 0x${arch.binFlashOffset.toString(16)} (esptool.py write_flash 0x${arch.binFlashOffset.toString(16)} ${out})`
            )
            return
        }
        default:
            fail(USAGE)
    }
}

main(process.argv.slice(2)).catch(e => fail(`provision: ${e.message}`))
