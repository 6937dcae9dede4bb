"""The dashboards' regexes as Gerrit's own classes read them, without a Gerrit server.

tests/test_dashboard_regex.py checks the generated regexes with a small evaluator of Lucene's
regex grammar (tests/lucene_regexp.py).  Here the same kind of cases (the Nova fixture, the
semantics tables, random configs and paths) go through the two readers Gerrit's `file:^regex`
uses, from Gerrit's plugin API jar: Lucene's, built as Gerrit's index builds the query
(`new RegexpQuery(new Term(field, regex))`, which refuses a regex whose automaton takes more
than Lucene's default 10,000 units of work to determinize), and dk.brics' `RegExp`, for
Gerrit's in-memory matching (`RegexListSearcher`).  Each case must get one
answer from the engine, the evaluator and both of them.  One JVM runs all cases.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import devgerrit
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from owners.engine import Ownership, load_config
from owners.gerrit.dashboards import region
from tests import lucene_regexp
from tests.test_dashboard_regex import PATHS, _one_subsystem, configs
from tests.test_semantics import NOVA, PATTERN_ROWS, REQUIREMENT_ROWS

pytestmark = pytest.mark.e2e

CHECK = """
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;

public class RegexCheck {
  static String unhex(String hex) {
    byte[] bytes = new byte[hex.length() / 2];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }

  public static void main(String[] args) throws IOException {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintStream out = new PrintStream(new BufferedOutputStream(System.out), false, "UTF-8");
    Map<String, Object[]> compiled = new HashMap<>();
    String line;
    while ((line = in.readLine()) != null) {
      int space = line.indexOf(' ');
      String re = unhex(line.substring(0, space));
      String path = unhex(line.substring(space + 1));
      Object[] runs = compiled.get(re);
      if (runs == null) {
        try {
          runs = new Object[] {
            new org.apache.lucene.util.automaton.CharacterRunAutomaton(
                new org.apache.lucene.search.RegexpQuery(
                    new org.apache.lucene.index.Term("path", re)).getAutomaton()),
            new dk.brics.automaton.RunAutomaton(new dk.brics.automaton.RegExp(re).toAutomaton())
          };
        } catch (RuntimeException e) {
          runs = new Object[] {e.toString().replace('\\n', ' ')};
        }
        compiled.put(re, runs);
      }
      if (runs.length == 1) {
        out.println("E " + runs[0]);
        continue;
      }
      boolean lucene = ((org.apache.lucene.util.automaton.CharacterRunAutomaton) runs[0]).run(path);
      boolean brics = ((dk.brics.automaton.RunAutomaton) runs[1]).run(path);
      out.println((lucene ? "1" : "0") + (brics ? "1" : "0"));
    }
    out.flush();
  }
}
"""


def gerrit_reads(dist: devgerrit.GerritDist, tmp: Path, cases: list[tuple[str, str]]) -> list[str]:
    """For each (regex, path): "11" (Lucene and dk.brics match), "00", ... or "E error"."""
    source = tmp / "RegexCheck.java"
    source.write_text(CHECK)
    java = dist.java_home / "bin" / "java"
    classpath = os.pathsep.join(str(jar) for jar in dist.classpath)
    lines = "".join(f"{r.encode().hex()} {p.encode().hex()}\n" for r, p in cases)
    done = subprocess.run(
        [str(java), "-cp", classpath, str(source)],
        input=lines,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return done.stdout.splitlines()


def _cases(ownership: Ownership, paths: list[str], into: list[tuple[str, str, bool]]) -> None:
    for sub in ownership.config.all_subsystems:
        regex = region(ownership, sub.name)
        into += [(regex, path, sub.name in ownership.requirements(path)) for path in paths]


def test_gerrit_reads_each_dashboard_regex_as_the_engine_answers(
    gerrit_dist: devgerrit.GerritDist, tmp_path: Path
) -> None:
    cases: list[tuple[str, str, bool]] = []
    nova_paths = [row[1] for row in REQUIREMENT_ROWS] + ["nova/virt/xenapi/a/b.py", "nova/virt"]
    _cases(NOVA, nova_paths, cases)
    for _, patterns, path, _ in PATTERN_ROWS:
        _cases(_one_subsystem(patterns), [path], cases)

    @settings(max_examples=200, database=None)
    @given(configs(), st.lists(PATHS, min_size=1, max_size=8))
    def collect(ownership: Ownership, paths: list[str]) -> None:
        _cases(ownership, [*paths, "OWNERS.yaml"], cases)

    collect()
    answers = gerrit_reads(gerrit_dist, tmp_path, [(r, p) for r, p, _ in cases])
    assert len(answers) == len(cases)
    wrong = [
        (regex, path, expected, answer)
        for (regex, path, expected), answer in zip(cases, answers, strict=True)
        if answer != ("11" if expected else "00")
        or lucene_regexp.fullmatch(regex, path) != expected
    ]
    assert not wrong, (len(wrong), len(cases), wrong[:5])


def test_a_large_map_s_dashboards_stay_within_gerrit_s_limit(
    gerrit_dist: devgerrit.GerritDist, tmp_path: Path
) -> None:
    """200 subsystems, half of them nested, with unanchored folders and extensions, every
    third with an exclusion: root's regex complements them all.  Written as one plain union,
    ten such patterns took Lucene past the work Gerrit allows a query's automaton; with
    patterns of one reach sharing their tail but in one complement, 200 still did."""
    rng = random.Random(1)
    lines = ["version: 1", "root: {owners: [r]}", "subsystems:"]
    for i in range(200):
        parent = f", parent: s{rng.randrange(i)}" if i and rng.random() < 0.5 else ""
        paths = [f"dir{i}/", f"'*.ext{i}'", f"/top{i}/sub/"]
        paths += [f"'!dir{i}/README'"] if i % 3 == 0 else []
        lines.append(f"  - {{name: s{i}, owners: [o{i}], paths: [{', '.join(paths)}]{parent}}}")
    ownership = Ownership(load_config("\n".join(lines) + "\n"))
    paths = ["dir1/x.ext5", "a/dir3/README", "a/dir3/b", "top7/sub/x", "top7/x", "x.ext199", "y"]
    cases: list[tuple[str, str, bool]] = []
    _cases(ownership, paths, cases)
    answers = gerrit_reads(gerrit_dist, tmp_path, [(r, p) for r, p, _ in cases])
    wrong = [
        (regex[:200], path, expected, answer)
        for (regex, path, expected), answer in zip(cases, answers, strict=True)
        if answer != ("11" if expected else "00")
    ]
    assert not wrong, (len(wrong), len(cases), wrong[:3])
