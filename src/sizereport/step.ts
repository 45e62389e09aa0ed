// The size-report step: measure, compare with the baseline, render, comment, and enforce budgets.
// Also comment mode, which only posts a report another workflow wrote.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { InputError, getErrorMessage } from '../errors.ts';
import { upsertComment } from '../github/comment.ts';
import { findRunPullRequest, readEventPullRequest } from '../github/pull-request.ts';
import type { Host } from '../host.ts';
import type { Inputs } from '../inputs.ts';
import { readInputFile } from '../io/files.ts';
import type { Logger } from '../log.ts';
import type { RegistryClient } from '../registry/client.ts';
import { parseImageReference } from '../registry/reference.ts';
import { loadBaseline, saveBaseline } from './baseline.ts';
import { evaluateBudgets } from './budgets.ts';
import { diffReports } from './diff.ts';
import { measureImage, withoutLayerRecords, type ImageSizeReport } from './measure.ts';
import { marker, renderMarkdown } from './render.ts';
import { renderReportFile, reportFileText } from './report-file.ts';
import { registrySource } from './sources.ts';

export interface Baseline {
  base?: ImageSizeReport;
  label?: string;
}

/**
 * What the new image is compared with: `compare-to` read from its registry, or on a pull request
 * the report the base branch's last push build saved. Read before the head is measured, so the
 * head measurement can reuse the unpacked sizes of the layers both share.
 */
export async function readBaseline(
  host: Host,
  inputs: Inputs,
  registry: RegistryClient,
): Promise<Baseline> {
  const { log, env } = host;
  const name = inputs.tags[0] ? parseImageReference(inputs.tags[0]).repository : 'image';
  try {
    if (inputs.compareTo) {
      const base = await measureImage(
        registrySource(registry, parseImageReference(inputs.compareTo)),
        inputs.compareTo,
        { uncompressed: true },
      );
      if (!base)
        log.warning(
          `compare-to ${inputs.compareTo} does not exist in its registry; reporting without a baseline`,
        );
      return { base, label: inputs.compareTo };
    }
    if (env['GITHUB_EVENT_NAME'] === 'pull_request' && env['GITHUB_BASE_REF'])
      return {
        base: await loadBaseline(name, env['GITHUB_BASE_REF'], (m) => log.warning(m)),
        label: `the last build of ${env['GITHUB_BASE_REF']}`,
      };
  } catch (e) {
    log.warning(
      `size report: the baseline could not be read, reporting without one: ${getErrorMessage(e)}`,
    );
  }
  return {};
}

export async function reportSizes(
  host: Host,
  inputs: Inputs,
  head: ImageSizeReport | undefined,
  { base, label }: Baseline,
  budgets: Parameters<typeof evaluateBudgets>[1],
  workDir: string,
  opts: { part?: boolean } = {},
): Promise<void> {
  const { log, env } = host;
  if (!head) {
    log.info('size report: nothing to measure (no image was pushed or exported)');
    return;
  }
  const name = inputs.tags[0] ? parseImageReference(inputs.tags[0]).repository : 'image';
  const eventName = env['GITHUB_EVENT_NAME'] ?? '';
  const diff = diffReports(head, base, label);
  const verdict = evaluateBudgets(diff, budgets);
  const markdown = renderMarkdown(diff, name, verdict);
  // The baseline saved below keeps each layer's executables; the outputs need only the image's.
  const shown = { head: withoutLayerRecords(head), base: base && withoutLayerRecords(base) };
  host.setOutput('size-report', JSON.stringify({ ...shown, diff, verdict }));
  host.setOutput('size-report-markdown', markdown);
  await host.writeSummary(markdown);
  const reportFile = path.join(workDir, 'size-report.md');
  // With its data, so comment mode renders the comment itself (src/sizereport/report-file.ts).
  writeFileSync(reportFile, reportFileText(markdown, { v: 1, name, ...shown, label, budgets }));
  host.setOutput('size-report-file', reportFile);

  if (opts.part) {
    log.info(
      'size report: one platform of a merged image; the merge job comments and keeps the baseline',
    );
    return;
  }
  if (eventName === 'push' && env['GITHUB_REF']?.startsWith('refs/heads/')) {
    await saveBaseline(
      head,
      name,
      env['GITHUB_REF'].slice('refs/heads/'.length),
      env['GITHUB_RUN_ID'] ?? String(Date.now()),
    ).catch((e: unknown) =>
      log.warning(`size report: not saved as a baseline: ${getErrorMessage(e)}`),
    );
  }
  const target =
    inputs.comment && inputs.githubToken ? await pullRequestTarget(host, inputs) : undefined;
  if (target && 'skip' in target) log[target.level](`size report: no PR comment: ${target.skip}`);
  if (target && 'number' in target) {
    const pr = target.number;
    const [owner, repo] = (env['GITHUB_REPOSITORY'] ?? '/').split('/');
    const outcome = await upsertComment({
      token: inputs.githubToken,
      baseUrl: env['GITHUB_API_URL'],
      owner: owner!,
      repo: repo!,
      issue: pr,
      marker: marker(name),
      body: markdown,
    });
    if ('reason' in outcome)
      log.warning(
        `size report: no PR comment: ${outcome.reason}; the report is in the job summary and the size-report output`,
      );
    else log.info(`size report: comment ${outcome.id} ${outcome.action}`);
  }
  if (verdict.level === 'warning') log.warning(verdict.messages.join('; '));
  if (verdict.level === 'failure')
    throw new Error(`size budget exceeded: ${verdict.messages.join('; ')}`);
}

/**
 * The pushed image, measured from its registry. A registry that fails now (after the push worked)
 * costs the report, never the build: warn and go on without it.
 */
export async function measurePushedImage(
  registry: RegistryClient,
  tag: string,
  digest: string,
  log: Logger,
  known?: ReadonlyMap<string, number>,
): Promise<ImageSizeReport | undefined> {
  try {
    const ref = parseImageReference(tag);
    const report = await measureImage(
      registrySource(registry, {
        ...ref,
        digest: digest || undefined,
        tag: digest ? undefined : ref.tag,
      }),
      tag,
      { uncompressed: true, known },
    );
    if (!report) log.warning(`size report: ${tag} was not found in its registry after the push`);
    return report;
  } catch (e) {
    log.warning(`size report: the pushed image could not be measured: ${getErrorMessage(e)}`);
    return undefined;
  }
}

/**
 * Comment mode: post a report another (read-only) workflow wrote. The file is untrusted input (the
 * fork's code wrote it): its markdown is never posted; the comment is rendered here from the
 * file's data, every field checked against its grammar.
 */
export async function postReportFile(host: Host, inputs: Inputs): Promise<void> {
  const file = inputs.reportFile;
  const text = readInputFile('report-file', file, {
    maxBytes: 8 * 1024 * 1024,
    what: 'the report file',
    fix: 'download the report artifact first and give the path of its file',
  });
  if (!/^<!-- build-go-image:size-report:([A-Za-z0-9_./:@-]{1,200}) -->/.test(text))
    throw new InputError(
      'report-file',
      `${file} is not a size report written by this action (no marker on its first line)`,
    );
  const dropped: string[] = [];
  let rendered: { name: string; body: string };
  try {
    rendered = renderReportFile(text, dropped);
  } catch (e) {
    throw new InputError('report-file', `${file} is not used: ${getErrorMessage(e)}`);
  }
  if (dropped.length) host.log.warning(`size report: ${dropped.join('; ')}`);
  const { body } = rendered;
  const target = await pullRequestTarget(host, inputs);
  if ('none' in target)
    throw new InputError('pull-request', 'no pull request in the event: give pull-request');
  if ('skip' in target) {
    host.log[target.level](`size report: no PR comment: ${target.skip}`);
    return;
  }
  const pr = target.number;
  const [owner, repo] = (host.env['GITHUB_REPOSITORY'] ?? '/').split('/');
  const outcome = await upsertComment({
    token: inputs.githubToken,
    baseUrl: host.env['GITHUB_API_URL'],
    owner: owner!,
    repo: repo!,
    issue: pr,
    marker: marker(rendered.name),
    body,
  });
  if ('reason' in outcome) host.log.warning(`size report: no PR comment: ${outcome.reason}`);
  else host.log.info(`size report: comment ${outcome.id} ${outcome.action} on #${pr}`);
}

/** The pull request of a `pull_request` event's payload (GitHub's own record of it). */
export function prNumber(env: NodeJS.ProcessEnv): number | undefined {
  const event = readEventPullRequest(env);
  return event.kind === 'pull_request' ? event.number : undefined;
}

export type PullRequestTarget =
  { number: number } | { skip: string; level: 'info' | 'warning' } | { none: true };

/**
 * The pull request to comment on. `pull_request` events: the payload's, or `pull-request`.
 * `workflow_run` events: found through the API from the triggering run's head repository, branch
 * and SHA (GitHub leaves `pull_requests` empty for forks); `pull-request`, which a workflow can
 * only have read from an artifact the fork's code wrote, is a hint checked against that, never
 * used alone. Never throws: a PR that cannot be found costs the comment, not the job.
 */
export async function pullRequestTarget(host: Host, inputs: Inputs): Promise<PullRequestTarget> {
  const { env, log } = host;
  const event = readEventPullRequest(env);
  if (event.kind !== 'workflow_run') {
    const n = inputs.pullRequest ?? (event.kind === 'pull_request' ? event.number : undefined);
    return n ? { number: n } : { none: true };
  }
  if (!event.run) return { skip: event.problem, level: 'warning' };
  const { run } = event;
  if (run.event !== 'pull_request' && run.event !== 'pull_request_target')
    return {
      skip: `the triggering run was not for a pull request (event ${JSON.stringify(run.event)})`,
      level: 'info',
    };
  if (!inputs.githubToken)
    return { skip: 'no github-token to find the pull request with', level: 'warning' };
  const found = await findRunPullRequest({
    token: inputs.githubToken,
    baseUrl: env['GITHUB_API_URL'],
    repository: env['GITHUB_REPOSITORY'] ?? '',
    run,
  });
  if ('skip' in found) return { skip: found.skip, level: 'warning' };
  if (inputs.pullRequest !== undefined && inputs.pullRequest !== found.number)
    log.warning(
      `pull-request ${inputs.pullRequest} is not the pull request of the triggering run (#${found.number}, found by its head commit ${run.headSha.slice(0, 12)}): ignored`,
    );
  return found;
}
