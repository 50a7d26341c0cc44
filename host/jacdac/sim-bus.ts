/**
 * Jacdac frames to the simulator's bus: the dev tools websocket
 * (ws://127.0.0.1:8081 of a running `startSim` session) relays every binary
 * message to the simulated device as one frame.
 */
import { closeWebSocket, openWebSocket } from "../lib/websocket-client.ts"

/**
 * Sends Jacdac frames to the simulator's bus through the dev tools
 * websocket, which relays them to the simulated device. Resolves once
 * written and the connection closed; frames from the bus are dropped.
 */
export async function sendFramesToSimBus(
    frames: Buffer[],
    port = 8081
): Promise<void> {
    const ws = await openWebSocket(`ws://127.0.0.1:${port}/`)
    try {
        for (const f of frames)
            await new Promise<void>((resolve, reject) =>
                ws.send(f, { binary: true }, e => (e ? reject(e) : resolve()))
            )
    } finally {
        await closeWebSocket(ws)
    }
}
