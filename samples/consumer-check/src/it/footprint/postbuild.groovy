// Post-build hook (invoker runs postbuild.groovy). Weighs what each artifact puts on a user's runtime classpath against budget.properties, writes
// target/footprint.md (the table in the README comes from it) and fails when a budget is exceeded,
// so the footprint cannot grow silently. Raise a budget only in a reviewed change that says why.
def budgets = new Properties()
new File(basedir, 'budget.properties').withInputStream { budgets.load(it) }
def rows = []
def failures = []
['api', 'credentials', 'credentials-ssh', 'credentials-jwt', 'credentials-kubernetes', 'rbac', 'policy', 'audit', 'store-jdbc', 'store-kubernetes', 'server', 'admission', 'chatops', 'all'].each { name ->
  def cpFile = new File(basedir, "${name}/target/classpath.txt")
  assert cpFile.isFile() : "no classpath was written for ${name}"
  def entries = cpFile.text.trim().split(File.pathSeparator).findAll { it }
  def jars = entries.collect { new File(it) }
  jars.each { assert it.isFile() : "missing jar ${it}" }
  // the artifact itself is resolved from the repository too: count it like any other jar
  int count = jars.size()
  long bytes = jars.sum(0L) { it.length() }
  double mb = bytes / 1_000_000d
  int maxJars = budgets.getProperty("${name}.jars") as int
  double maxMb = budgets.getProperty("${name}.mb") as double
  rows << String.format(Locale.ROOT, '| %s | %d | %.2f | %d | %.1f |', name, count, mb, maxJars, maxMb)
  if (count > maxJars || mb > maxMb) {
    failures << String.format(Locale.ROOT, '%s: %d jars / %.1f MB exceeds the budget of %d jars / %.1f MB',
        name, count, mb, maxJars, maxMb)
  }
}
def report = new File(basedir, 'target/footprint.md')
report.parentFile.mkdirs()
report.text = "| artifact | jars | MB | budget jars | budget MB |\n|---|---|---|---|---|\n" + rows.join('\n') + '\n'
println report.text
if (failures) {
  throw new AssertionError('footprint over budget:\n' + failures.join('\n'))
}
return true
