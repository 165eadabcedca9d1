/**
 * The publish workflow's messages, defined once: the workflow sets their handlers and the
 * CLI and API call them through these typed definitions, never by a bare name.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Approval, PublishProgress } from './contract.ts';

/** An approver's verdict on a publish that awaits approval; answers with the verdict's effect. */
export const approveUpdate = defineUpdate<PublishProgress, [Approval]>('approve');
export const rejectUpdate = defineUpdate<PublishProgress, [Approval]>('reject');
/** Where the publish is: status, checks, and the result once it has one. */
export const progressQuery = defineQuery<PublishProgress>('progress');
