import { z } from 'zod';
import { AGENT_STATES } from '../../store/vocabulary.ts';

/*
 * The board's answer (`GET /api/v1/board`), apart from the route so that the web console
 * takes its type (`BoardView`) from here: this file imports only zod and the vocabulary.
 */

const todaySchema = z.object({
  offered: z
    .number()
    .int()
    .describe('Calls to the department today (by the department they were last in), queued or sent away'),
  answered: z.number().int(),
  abandoned: z.number().int().describe('The customer hung up while waiting'),
  serviceLevel: z
    .number()
    .nullable()
    .describe(
      'Queued calls answered within serviceLevelSeconds / queued calls answered or abandoned, 0…1 (as the report); null before the first',
    ),
  averageSpeedOfAnswer: z.number().nullable().describe('Seconds from queue entry to answer, averaged'),
});

export const boardSchema = z
  .object({
    companyId: z.number().int(),
    timeZone: z.string().describe("The company's time zone (setting `timeZone`): today is its local day"),
    now: z.string().describe("The server's clock: the console ticks waits and times in state from it"),
    dayStart: z.string().describe("Start of the company's local day: today's figures count from here"),
    serviceLevelSeconds: z.number().int(),
    departments: z.array(
      z.object({
        code: z.string(),
        name: z.string(),
        waiting: z.number().int(),
        longestWaitSince: z.string().nullable().describe('When the longest-waiting call entered the queue'),
        readyAgents: z.number().int(),
        loggedInAgents: z.number().int(),
        today: todaySchema,
      }),
    ),
    agents: z.array(
      z.object({
        login: z.string(),
        name: z.string(),
        shortNumber: z.string(),
        departments: z.array(z.string()).describe('Codes of the departments the agent takes calls of'),
        state: z.enum(AGENT_STATES),
        stateSince: z.string().nullable(),
        stateReason: z
          .string()
          .describe(
            'Why the agent is in the state (the history reason): `no_answer`, `not_accepted` (a missed call), ' +
              '`ivr_break`, `ivr_not_ready`, `supervisor` or a supervisor’s own words …',
          ),
        today: z.object({
          calls: z.number().int().describe('Calls the agent took today (each time they went busy)'),
          averageHandleTime: z
            .number()
            .nullable()
            .describe('Seconds of talk, hold and wrap-up per finished call today'),
        }),
      }),
    ),
    calls: z.array(
      z.object({
        id: z.string(),
        callerId: z.string(),
        hotline: z.string(),
        department: z.string(),
        state: z.string().describe('`greeting`, `queued`, `offering` (an agent rings) or `connected`'),
        agentLogin: z.string().nullable(),
        waitingSince: z.string().nullable().describe('Entry into the current queue (waiting calls)'),
        answeredAt: z.string().nullable().describe('Answer by an agent: talk time counts from here'),
      }),
    ),
  })
  .meta({ id: 'Board' });

export type BoardView = z.output<typeof boardSchema>;
