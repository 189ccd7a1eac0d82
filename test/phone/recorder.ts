// The test phone lives in src/sim so that the demo can use it too.
export * from '../../src/sim/recorder.ts';
