/**
 * The boards the firmware supports: the custom ones in `boards/` (each
 * declares its I2C pins and, under `sensor`, the driver to start) and a
 * few of DeviceScript's built-in boards.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { projectRoot } from "../lib/devs.ts"
import { ARCHS, type ArchPlacement } from "./image.ts"

/** Built-in DeviceScript boards the README documents (id → architecture). */
export const BUILTIN_BOARDS: Record<string, string> = {
    adafruit_qt_py_c3: "esp32c3",
    esp32c3_rust_devkit: "esp32c3",
    seeed_xiao_esp32c3: "esp32c3",
}

/** A custom board file's fields this project relies on. */
export interface CustomBoard {
    id: string
    devName: string
    archId: string
    sensor?: string
    i2c?: { pinSDA: number | string; pinSCL: number | string }
    pins?: Record<string, number>
}

/** Every `boards/<id>.board.json`. */
export function customBoards(root = projectRoot): CustomBoard[] {
    const dir = join(root, "boards")
    return readdirSync(dir)
        .filter(f => f.endsWith(".board.json"))
        .sort()
        .map(f => ({
            ...JSON.parse(readFileSync(join(dir, f), "utf8")),
            id: f.slice(0, -".board.json".length),
        }))
}

/** Every supported board id (custom first). */
export function supportedBoards(): string[] {
    return [...customBoards().map(b => b.id), ...Object.keys(BUILTIN_BOARDS)]
}

/** Where the flash store goes on `board`; throws for an unknown board. */
export function boardArch(board: string): ArchPlacement {
    const archId =
        BUILTIN_BOARDS[board] ??
        customBoards().find(b => b.id === board)?.archId
    if (!archId)
        throw new Error(
            `unknown board '${board}'; supported: ${supportedBoards().join(", ")}`
        )
    const arch = ARCHS[archId]
    if (!arch) throw new Error(`board ${board}: unknown architecture ${archId}`)
    return arch
}
