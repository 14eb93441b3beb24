// The environment as the user gave it, captured before anything imports tensorbolt (whose loader sets
// OMP_WAIT_POLICY for its own process): peers in child processes get the user's settings, not ours.
// run.ts imports this module first.
export const userEnv: Readonly<NodeJS.ProcessEnv> = { ...process.env };
