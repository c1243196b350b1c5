# Reference values for analysis.effects, analysis.pooling and analysis.subgroups,
# computed with metafor and metadat so the Python tests run without R.
# Run from the repository root:
#   Rscript tests/reference/make_reference.R
# It rewrites tests/reference/reference_pooling.json. The data inputs are written
# into the JSON too, so the tests read exactly the numbers R used.
suppressMessages({
  library(metafor)
  library(jsonlite)
})

out_path <- file.path("tests", "reference", "reference_pooling.json")
pymare_version <- tryCatch(
  system2(file.path(".venv", "bin", "python"),
          c("-c", shQuote("import pymare; print(pymare.__version__)")), stdout = TRUE),
  error = function(e) NA_character_)

num <- function(x) if (is.null(x)) NA else unname(as.numeric(x))

# ------------------------------------------------------------------ data inputs
bcg <- dat.bcg
normand <- dat.normand1999
niel <- dat.nielweise2007
# dat.bcg with zero cells made on purpose: Aronson 1948 with no vaccinated case
# (one zero cell) and Ferguson & Simes 1949 with no case in either arm (double zero).
bcgz <- bcg
bcgz$tpos[1] <- 0
bcgz$tpos[2] <- 0
bcgz$cpos[2] <- 0

data <- list(
  bcg = list(labels = paste(bcg$author, bcg$year), ai = bcg$tpos, bi = bcg$tneg,
             ci = bcg$cpos, di = bcg$cneg, ablat = bcg$ablat, year = bcg$year,
             alloc = as.character(bcg$alloc)),
  bcg_zero = list(labels = paste(bcgz$author, bcgz$year), ai = bcgz$tpos, bi = bcgz$tneg,
                  ci = bcgz$cpos, di = bcgz$cneg),
  normand1999 = list(labels = as.character(normand$source), m1i = normand$m1i,
                     sd1i = normand$sd1i, n1i = normand$n1i, m2i = normand$m2i,
                     sd2i = normand$sd2i, n2i = normand$n2i),
  nielweise2007 = list(labels = paste(niel$author, niel$year), ai = niel$ai,
                       bi = niel$n1i - niel$ai, ci = niel$ci, di = niel$n2i - niel$ci)
)

es <- function(dname, measure, ...) {
  d <- data[[dname]]
  if (measure %in% c("SMD", "MD")) {
    escalc(measure, m1i = d$m1i, sd1i = d$sd1i, n1i = d$n1i,
           m2i = d$m2i, sd2i = d$sd2i, n2i = d$n2i, ...)
  } else {
    escalc(measure, ai = d$ai, bi = d$bi, ci = d$ci, di = d$di, ...)
  }
}

# ------------------------------------------------------------------ effect sizes
escalc_cases <- list()
add_escalc <- function(id, dname, measure, add = 1/2, to = "only0", drop00 = FALSE) {
  e <- es(dname, measure, add = add, to = to, drop00 = drop00)
  escalc_cases[[length(escalc_cases) + 1]] <<- list(
    id = id, data = dname, measure = measure, add = add, to = to, drop00 = drop00,
    yi = num(e$yi), vi = num(e$vi))
}
for (m in c("RR", "OR", "RD")) add_escalc(paste0("bcg_", m), "bcg", m)
for (m in c("SMD", "MD")) add_escalc(paste0("normand1999_", m), "normand1999", m)
for (m in c("RR", "OR", "RD")) {
  add_escalc(paste0("nielweise2007_", m), "nielweise2007", m)
  add_escalc(paste0("bcg_zero_", m), "bcg_zero", m)
  add_escalc(paste0("bcg_zero_", m, "_drop00"), "bcg_zero", m, drop00 = TRUE)
  add_escalc(paste0("bcg_zero_", m, "_all"), "bcg_zero", m, to = "all")
  add_escalc(paste0("bcg_zero_", m, "_none"), "bcg_zero", m, to = "none")
}
add_escalc("bcg_zero_OR_add1_if0all", "bcg_zero", "OR", add = 1, to = "if0all")

# ------------------------------------------------------------------ pooling
fit_summary <- function(res, level) {
  random <- !(res$method %in% c("FE", "EE", "CE")) && res$k > 1
  pred <- predict(res, level = level)
  out <- list(
    k = res$k, test = res$test, estimate = num(res$beta), se = num(res$se),
    stat = num(res$zval), df = if (res$test != "z") num(res$ddf) else NA,
    pval = num(res$pval), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
    tau2 = num(res$tau2), tau = sqrt(num(res$tau2)), i2 = num(res$I2), h2 = num(res$H2),
    q = num(res$QE), q_pval = num(res$QEp),
    pi_lb = num(if (is.null(pred$pi.lb)) pred$ci.lb else pred$pi.lb),
    pi_ub = num(if (is.null(pred$pi.ub)) pred$ci.ub else pred$pi.ub),
    weights = num(weights(res)),
    tau2_ci_lb = NA, tau2_ci_ub = NA, i2_ci_lb = NA, i2_ci_ub = NA,
    tau2_ci_lb_default_tol = NA, tau2_ci_ub_default_tol = NA, tau2_ci_ub_capped = NA)
  if (random) {
    # metafor's default uniroot tolerance (about 1.2e-4) leaves the Q-profile bounds
    # that far from the root; the tight run is the exact value the tests compare to.
    ci_def <- confint(res, level = level)$random
    ci_obj <- confint(res, level = level, control = list(tol = 1e-12))
    ci <- ci_obj$random
    # metafor marks an upper bound that stopped at tau2.max with ">" (ub.sign)
    out$tau2_ci_ub_capped <- identical(ci_obj$ub.sign, ">")
    out$tau2_ci_lb <- num(ci["tau^2", "ci.lb"]); out$tau2_ci_ub <- num(ci["tau^2", "ci.ub"])
    out$i2_ci_lb <- num(ci["I^2(%)", "ci.lb"]); out$i2_ci_ub <- num(ci["I^2(%)", "ci.ub"])
    out$tau2_ci_lb_default_tol <- num(ci_def["tau^2", "ci.lb"])
    out$tau2_ci_ub_default_tol <- num(ci_def["tau^2", "ci.ub"])
  }
  out
}

pool_cases <- list()
add_pool <- function(id, dname, measure, method, test = "z", rows = NULL, level = 95) {
  e <- es(dname, measure)
  labels <- data[[dname]]$labels
  if (!is.null(rows)) { e <- e[rows, ]; labels <- labels[rows] }
  res <- rma(yi, vi, data = e, method = method, test = test, level = level)
  pool_cases[[length(pool_cases) + 1]] <<- list(
    id = id, data = dname, measure = measure, method = method, hk = test == "knha",
    level = level, rows = if (is.null(rows)) NA else rows, labels = labels,
    yi = num(e$yi), vi = num(e$vi), result = fit_summary(res, level))
}
for (m in c("REML", "DL", "ML", "HE", "FE")) {
  add_pool(paste0("bcg_RR_", m), "bcg", "RR", m)
  add_pool(paste0("bcg_RR_", m, "_knha"), "bcg", "RR", m, test = "knha")
}
add_pool("bcg_OR_REML", "bcg", "OR", "REML")
add_pool("bcg_RD_REML", "bcg", "RD", "REML")
add_pool("bcg_RD_DL", "bcg", "RD", "DL")
add_pool("bcg_RR_REML_level90", "bcg", "RR", "REML", level = 90)
add_pool("bcg_RR_REML_knha_level90", "bcg", "RR", "REML", test = "knha", level = 90)
for (m in c("REML", "DL", "ML", "HE", "FE")) add_pool(paste0("normand1999_SMD_", m), "normand1999", "SMD", m)
add_pool("normand1999_SMD_REML_knha", "normand1999", "SMD", "REML", test = "knha")
add_pool("normand1999_MD_REML", "normand1999", "MD", "REML")
add_pool("normand1999_MD_DL_knha", "normand1999", "MD", "DL", test = "knha")
# zero cells: tau^2 is estimated at 0 for RR (REML and DL)
add_pool("nielweise2007_OR_REML", "nielweise2007", "OR", "REML")
add_pool("nielweise2007_OR_DL", "nielweise2007", "OR", "DL")
add_pool("nielweise2007_RR_REML", "nielweise2007", "RR", "REML")
add_pool("nielweise2007_RR_DL", "nielweise2007", "RR", "DL")
add_pool("nielweise2007_RR_ML_knha", "nielweise2007", "RR", "ML", test = "knha")
add_pool("bcg_zero_OR_REML", "bcg_zero", "OR", "REML")
# k = 2
add_pool("normand1999_SMD_k2_REML", "normand1999", "SMD", "REML", rows = 1:2)
add_pool("normand1999_SMD_k2_DL", "normand1999", "SMD", "DL", rows = 1:2)
add_pool("normand1999_SMD_k2_REML_knha", "normand1999", "SMD", "REML", test = "knha", rows = 1:2)
add_pool("bcg_RR_k2_HE", "bcg", "RR", "HE", rows = 1:2)
# k = 2 with some heterogeneity: the Q-profile upper bound of tau^2 stops at tau2.max
add_pool("normand1999_SMD_k2_capped_REML", "normand1999", "SMD", "REML", rows = c(1, 4))
# tau^2 at zero with k = 4 (REML and ML)
add_pool("normand1999_SMD_tau2zero_REML", "normand1999", "SMD", "REML", rows = c(5, 6, 7, 9))
add_pool("normand1999_SMD_tau2zero_ML", "normand1999", "SMD", "ML", rows = c(5, 6, 7, 9))

# ------------------------------------------------------------------ meta-regression
metareg_cases <- list()
add_metareg <- function(id, formula_vars, method, test = "z") {
  e <- es("bcg", "RR")
  mods <- as.data.frame(data$bcg[formula_vars])
  res <- rma(e$yi, e$vi, mods = as.matrix(mods), method = method, test = test)
  null <- rma(e$yi, e$vi, method = method, test = test)
  metareg_cases[[length(metareg_cases) + 1]] <<- list(
    id = id, data = "bcg", measure = "RR", moderators = I(formula_vars), method = method,
    hk = test == "knha", yi = num(e$yi), vi = num(e$vi),
    result = list(
      coef = num(res$beta), se = num(res$se), stat = num(res$zval), pval = num(res$pval),
      ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), tau2 = num(res$tau2),
      tau2_null = num(null$tau2),
      qm = num(res$QM), qm_df = num(res$QMdf[1]), qm_df2 = num(res$QMdf[2]),
      qm_pval = num(res$QMp), qe = num(res$QE), qe_df = res$k - res$p,
      qe_pval = num(res$QEp), i2 = num(res$I2), h2 = num(res$H2),
      r2 = num(if (is.null(res$R2)) NA else res$R2)))
}
add_metareg("bcg_RR_ablat_REML", "ablat", "REML")
add_metareg("bcg_RR_ablat_DL", "ablat", "DL")
add_metareg("bcg_RR_ablat_ML", "ablat", "ML")
add_metareg("bcg_RR_ablat_REML_knha", "ablat", "REML", test = "knha")
add_metareg("bcg_RR_ablat_year_REML", c("ablat", "year"), "REML")
add_metareg("bcg_RR_ablat_FE", "ablat", "FE")

# ------------------------------------------------------------------ subgroups
# Subgroup test: a separate tau^2 per group, then the fixed-effect (inverse-variance)
# test of heterogeneity across the subgroup estimates, df = groups - 1.
subgroup_cases <- list()
add_subgroup <- function(id, method, test = "z") {
  e <- es("bcg", "RR")
  e$alloc <- data$bcg$alloc
  groups <- sort(unique(e$alloc))
  per <- lapply(groups, function(g) {
    res <- rma(yi, vi, data = e, subset = alloc == g, method = method, test = test)
    c(list(group = g), fit_summary(res, 95))
  })
  est <- sapply(per, function(x) x$estimate)
  se <- sapply(per, function(x) x$se)
  between <- rma(est, sei = se, method = "FE")
  overall <- rma(yi, vi, data = e, method = method, test = test)
  subgroup_cases[[length(subgroup_cases) + 1]] <<- list(
    id = id, data = "bcg", measure = "RR", by = "alloc", method = method,
    hk = test == "knha", yi = num(e$yi), vi = num(e$vi), groups = e$alloc,
    result = list(groups = per, overall = fit_summary(overall, 95),
                  q_between = num(between$QE), q_between_df = length(groups) - 1,
                  q_between_pval = num(between$QEp)))
}
add_subgroup("bcg_RR_alloc_REML", "REML")
add_subgroup("bcg_RR_alloc_DL", "DL")
add_subgroup("bcg_RR_alloc_REML_knha", "REML", test = "knha")

out <- list(
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  metafor = as.character(packageVersion("metafor")),
                  metadat = as.character(packageVersion("metadat")),
                  pymare = pymare_version),
  generated_by = "tests/reference/make_reference.R",
  data = data, escalc = escalc_cases, pool = pool_cases,
  metareg = metareg_cases, subgroups = subgroup_cases)

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), out_path)
cat("wrote", out_path, "\n")
