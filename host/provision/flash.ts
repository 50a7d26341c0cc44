/**
 * `npm run flash -- --board ID [devs flash esp32 options]`: flashes the
 * DeviceScript runtime for a supported board with the pinned CLI
 * (`devs flash esp32 --board ID ...`; the CLI downloads the board's
 * firmware from DeviceScript's GitHub releases, patches a custom board's
 * configuration into it, and runs esptool). Other options (`--port`,
 * `--baud`, `--clean`, `--remote`, `--file`) are passed through.
 */
import { spawnSync } from "node:child_process"
import { pathToFileURL } from "node:url"
import { devsCli } from "../lib/devs.ts"
import { boardArch, supportedBoards } from "./boards.ts"

/** The `devs` arguments for `npm run flash -- ARGS`; throws on a bad board. */
export function flashArgs(argv: string[]): string[] {
    const i = argv.findIndex(a => a === "--board" || a === "-b")
    const board = i >= 0 ? argv[i + 1] : undefined
    if (!board)
        throw new Error(
            `--board ID is required; supported: ${supportedBoards().join(", ")}`
        )
    const arch = boardArch(board) // throws for an unknown board
    if (!arch.archId.startsWith("esp32"))
        throw new Error(`board ${board}: only ESP32 boards are supported`)
    const rest = argv.filter((_, k) => k !== i && k !== i + 1)
    return ["flash", "esp32", "--board", board, ...rest]
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
    let args: string[]
    try {
        args = flashArgs(process.argv.slice(2))
    } catch (e) {
        console.error((e as Error).message)
        process.exit(1)
    }
    const r = spawnSync(process.execPath, [devsCli, ...args], {
        stdio: "inherit",
    })
    process.exit(r.status ?? 1)
}
