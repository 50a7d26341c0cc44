/**
 * The Jacdac services the host tools talk to on a DeviceScript device
 * (settings, DeviceScript manager, Wi-Fi, CloudConfiguration, pipes):
 * their classes, commands, registers and payloads. Pure.
 */
import { broadcastCommandFrame } from "./frame.ts"

export const SRV_SETTINGS = 0x1107dc4a
export const SRV_DEVICE_SCRIPT_MANAGER = 0x1134ea2b
export const SRV_WIFI = 0x18aae1fa
/** Jacdac service class of CloudConfiguration. */
export const SRV_CLOUD_CONFIGURATION = 0x1462eefc

export const SETTINGS_CMD_GET = 0x80
export const SETTINGS_CMD_SET = 0x81
export const WIFI_CMD_ADD_NETWORK = 0x81
export const CONTROL_CMD_RESET = 0x82

/** Register access: command = base | register. */
export const CMD_GET_REG = 0x1000
export const CMD_SET_REG = 0x2000
/** DeviceScript manager registers and commands. */
export const MGR_REG_RUNNING = 0x80
export const MGR_REG_AUTOSTART = 0x81
export const MGR_REG_PROGRAM_SHA256 = 0x182
export const MGR_CMD_DEPLOY_BYTECODE = 0x80

/** CloudConfiguration commands. */
export const CloudConfigurationCmd = {
    Connect: 0x81,
    Disconnect: 0x82,
    SetConnectionString: 0x86,
} as const

/** Service index of pipe packets; their command is port, counter and flags. */
export const SERVICE_INDEX_PIPE = 0x3e
const PIPE_PORT_SHIFT = 7
const PIPE_COUNTER_MASK = 0x1f
const PIPE_CLOSE_MASK = 0x20

/** The command code of the `counter`-th packet on pipe `port` (`close`: the last). */
export function pipeCommand(port: number, counter: number, close = false) {
    return (
        (port << PIPE_PORT_SHIFT) |
        (close ? PIPE_CLOSE_MASK : 0) |
        (counter & PIPE_COUNTER_MASK)
    )
}

/** Payload of a settings SET: key, NUL, value bytes. */
export function settingsSetPayload(key: string, value: Uint8Array): Buffer {
    return Buffer.concat([Buffer.from(key + "\0", "utf8"), value])
}

/** Key and value of a settings GET report. */
export function parseSettingsGet(payload: Buffer) {
    const nul = payload.indexOf(0)
    if (nul < 0) return undefined
    return {
        key: payload.subarray(0, nul).toString("utf8"),
        value: payload.subarray(nul + 1),
    }
}

/**
 * The CloudConfiguration `set_connection_string` command frame (empty
 * string clears it). The runtime reads the string raw from its own flash
 * key `wssk_connstr`, which the settings service cannot write (that service
 * prefixes every key with `:`), so it must arrive as this command over the
 * device's Jacdac link (USB serial on a board, the dev tools bus in the
 * simulator).
 */
export function setConnectionStringFrame(connStr: string): Buffer {
    return broadcastCommandFrame(
        SRV_CLOUD_CONFIGURATION,
        CloudConfigurationCmd.SetConnectionString,
        Buffer.from(connStr, "utf8")
    )
}
