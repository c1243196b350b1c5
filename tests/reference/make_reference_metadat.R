# Reference values from metadat data sets that tests/reference/make_reference.R and
# make_reference_binary.R do not use, computed with metafor, so the Python tests (and
# `review pool --json`) are compared on data they were not written against. Run from the
# repository root:
#   Rscript tests/reference/make_reference_metadat.R
# It rewrites tests/reference/reference_metadat.json. Every input (counts, yi, vi) is
# written into the JSON too, so the tests read exactly the numbers R used.
#
# Cases, and why each is here:
#   lau1992, anand1999, li2007, graves2010, nielweise2007 (risk differences): ML/REML
#     where metafor's Fisher scoring stops short of the optimum (absolute threshold
#     1e-5 on tau^2) or, for li2007, stops close enough; the optimum is found here with
#     optimize() on metafor's own log-likelihood at fixed tau^2.
#   lau1992 RR ML: metafor stops at 7.7e-6, below the threshold, so its ll0check does
#     not reset tau^2 to 0 although tau^2 = 0 has the higher likelihood.
#   lehmann2018 (pre-registered studies): REML Fisher scoring does not converge
#     (metafor stops with an error); ML converges.
#   raudenbush1985: subgroups by weeks, six of them with one study (k = 1), with z and
#     with Hartung-Knapp; a k = 1 fit with test = "knha" (metafor falls back to z).
#   bangertdrowns2004: trim-and-fill of a Hartung-Knapp fit (metafor refits with z),
#     leave-one-out, cumulative, Egger's test.
#   yusuf1985 (table 9) and hahn2001: Peto and Mantel-Haenszel with double-zero trials.
#   molloy2014 (correlations, Fisher z): meta-regression with confint().
suppressMessages({
  library(metafor)
  library(jsonlite)
})

out_path <- file.path("tests", "reference", "reference_metadat.json")
num <- function(x) if (is.null(x)) NA else unname(as.numeric(x))
LL_TOL <- .Machine$double.eps^0.25

# ------------------------------------------------------------------ data inputs
counts <- function(d, labels) {
  list(labels = labels, ai = d$ai, bi = d$n1i - d$ai, ci = d$ci, di = d$n2i - d$ci)
}
y9 <- dat.yusuf1985[dat.yusuf1985$table == "9", ]
y9 <- y9[!is.na(y9$ai), ]  # Ayerst and ISIS have no counts (metafor leaves them out)
leh <- dat.lehmann2018[dat.lehmann2018$Preregistered == "Pre-Registered", ]
rb <- dat.raudenbush1985
bd <- dat.bangertdrowns2004
mol <- escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
data <- list(
  lau1992 = counts(dat.lau1992, paste(dat.lau1992$trial, dat.lau1992$year)),
  anand1999 = counts(dat.anand1999, paste(dat.anand1999$study, dat.anand1999$year)),
  li2007 = counts(dat.li2007, paste(dat.li2007$study, dat.li2007$year)),
  graves2010 = counts(dat.graves2010, as.character(dat.graves2010$study)),
  nielweise2007 = counts(dat.nielweise2007, paste(dat.nielweise2007$author, dat.nielweise2007$year)),
  yusuf1985_table9 = counts(y9, as.character(y9$trial)),
  hahn2001 = counts(dat.hahn2001, as.character(dat.hahn2001$study)),
  lehmann2018_preregistered = list(labels = as.character(leh$Short_Title), yi = num(leh$yi),
                                   vi = num(leh$vi)),
  raudenbush1985 = list(labels = paste(rb$author, rb$year), yi = num(rb$yi), vi = num(rb$vi),
                        weeks = rb$weeks, tester = as.character(rb$tester)),
  bangertdrowns2004 = list(labels = paste(bd$author, bd$year), yi = num(bd$yi), vi = num(bd$vi),
                           year = bd$year),
  molloy2014 = list(labels = paste(mol$authors, mol$year), yi = num(mol$yi), vi = num(mol$vi),
                    meanage = mol$meanage, quality = mol$quality)
)

effects <- function(dname, measure) {
  d <- data[[dname]]
  if (is.null(d$ai)) return(list(yi = d$yi, vi = d$vi))
  e <- escalc(measure, ai = d$ai, bi = d$bi, ci = d$ci, di = d$di)
  list(yi = num(e$yi), vi = num(e$vi))
}

# ------------------------------------------------------------------ one fit
# tau^2 at the maximum of metafor's own (restricted) log-likelihood, for ML/REML: the
# likelihood at fixed tau^2 (rma(..., tau2 = t)) maximised by optimize(), compared with
# tau^2 = 0.
optimum <- function(yi, vi, method, start) {
  ll <- function(t) as.numeric(logLik(rma(yi, vi, tau2 = t, method = method)))
  up <- max(10 * start, 10 * var(yi), 1e-6)
  o <- optimize(ll, c(0, up), maximum = TRUE, tol = 1e-15)
  cand <- c(0, o$maximum)
  vals <- sapply(cand, ll)
  list(tau2 = cand[which.max(vals)], ll = max(vals), ll_at = ll)
}

# The fit with tau^2 fixed at a given value (the optimum): what tau2_convergence =
# "optimum" reports.
at_tau2 <- function(yi, vi, tau2, method, level) {
  r <- rma(yi, vi, tau2 = tau2, method = method, level = level)
  pred <- predict(r, level = level)
  list(tau2 = tau2, estimate = num(r$beta), se = num(r$se), zval = num(r$zval),
       pval = num(r$pval), ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub), i2 = num(r$I2),
       h2 = num(r$H2), pi_lb = num(pred$pi.lb), pi_ub = num(pred$pi.ub))
}

fit_summary <- function(res, level, method) {
  random <- !(method %in% c("FE", "EE", "CE")) && res$k > 1
  pred <- predict(res, level = level)
  out <- list(
    k = res$k, test = res$test, estimate = num(res$beta), se = num(res$se),
    stat = num(res$zval), df = if (res$test != "z") num(res$ddf) else NA,
    pval = num(res$pval), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
    tau2 = num(res$tau2), tau = sqrt(num(res$tau2)), i2 = num(res$I2), h2 = num(res$H2),
    q = num(res$QE), q_pval = num(res$QEp),
    pi_lb = num(if (is.null(pred$pi.lb)) pred$ci.lb else pred$pi.lb),
    pi_ub = num(if (is.null(pred$pi.ub)) pred$ci.ub else pred$pi.ub),
    weights = I(num(weights(res))),
    tau2_ci_lb = NA, tau2_ci_ub = NA, tau_ci_lb = NA, tau_ci_ub = NA,
    i2_ci_lb = NA, i2_ci_ub = NA, h2_ci_lb = NA, h2_ci_ub = NA, tau2_ci_ub_capped = NA,
    tau2_optimum = NA, ll_gap = NA, converged_early = NA)
  if (random) {
    # tight uniroot tolerance: the exact Q-profile roots (the default is about 1.2e-4)
    ci_obj <- confint(res, level = level, control = list(tol = 1e-12))
    ci <- ci_obj$random
    out$tau2_ci_ub_capped <- identical(ci_obj$ub.sign, ">")
    out$tau2_ci_lb <- num(ci["tau^2", "ci.lb"]); out$tau2_ci_ub <- num(ci["tau^2", "ci.ub"])
    out$tau_ci_lb <- num(ci["tau", "ci.lb"]); out$tau_ci_ub <- num(ci["tau", "ci.ub"])
    out$i2_ci_lb <- num(ci["I^2(%)", "ci.lb"]); out$i2_ci_ub <- num(ci["I^2(%)", "ci.ub"])
    out$h2_ci_lb <- num(ci["H^2", "ci.lb"]); out$h2_ci_ub <- num(ci["H^2", "ci.ub"])
  }
  if (method %in% c("ML", "REML") && res$k > 1) {
    o <- optimum(res$yi, res$vi, method, res$tau2)
    out$tau2_optimum <- o$tau2
    out$ll_gap <- o$ll - o$ll_at(res$tau2)
    out$converged_early <- out$ll_gap > LL_TOL
    if (out$converged_early) out$at_optimum <- at_tau2(res$yi, res$vi, o$tau2, method, level)
  }
  out
}

pool_cases <- list()
add_pool <- function(id, dname, measure, method, test = "z", level = 95, rows = NULL) {
  e <- effects(dname, measure)
  labels <- data[[dname]]$labels
  if (!is.null(rows)) { e <- lapply(e, function(x) x[rows]); labels <- labels[rows] }
  res <- tryCatch(withCallingHandlers(
    rma(e$yi, e$vi, method = method, test = test, level = level),
    warning = function(w) invokeRestart("muffleWarning")), error = function(err) err)
  case <- list(id = id, data = dname, measure = measure, method = method,
               hk = test == "knha", level = level, rows = if (is.null(rows)) NA else rows,
               labels = I(labels), yi = I(e$yi), vi = I(e$vi), error = NA, result = NA)
  if (inherits(res, "error")) {
    case$error <- conditionMessage(res)
    # What the optimum is, for tau2_convergence = "optimum": optimize() as above, and
    # metafor's own Fisher scoring with halved steps (control stepadj = 0.5), which
    # converges here.
    half <- rma(e$yi, e$vi, method = method, test = test, level = level,
                control = list(stepadj = 0.5))
    o <- optimum(e$yi, e$vi, method, half$tau2)
    case$optimum <- list(tau2_optimize = o$tau2, stepadj_half = fit_summary(half, level, "none"),
                         at_optimum = at_tau2(e$yi, e$vi, o$tau2, method, level))
  } else {
    case$result <- fit_summary(res, level, method)
  }
  pool_cases[[length(pool_cases) + 1]] <<- case
}

for (m in c("REML", "ML")) {
  add_pool(paste0("lau1992_RR_", m), "lau1992", "RR", m)
  add_pool(paste0("lau1992_RD_", m), "lau1992", "RD", m)
  add_pool(paste0("anand1999_RD_", m), "anand1999", "RD", m)
  add_pool(paste0("li2007_RD_", m), "li2007", "RD", m)
  add_pool(paste0("graves2010_RD_", m), "graves2010", "RD", m)
  add_pool(paste0("nielweise2007_RD_", m), "nielweise2007", "RD", m)
  add_pool(paste0("lehmann2018_preregistered_", m), "lehmann2018_preregistered", "GEN", m)
}
add_pool("lau1992_OR_REML_knha", "lau1992", "OR", "REML", test = "knha")
add_pool("lau1992_OR_DL", "lau1992", "OR", "DL")
add_pool("anand1999_OR_REML", "anand1999", "OR", "REML")
add_pool("li2007_OR_HE", "li2007", "OR", "HE")
add_pool("graves2010_OR_REML_level90", "graves2010", "OR", "REML", level = 90)
add_pool("hahn2001_OR_REML", "hahn2001", "OR", "REML")
add_pool("hahn2001_RR_DL", "hahn2001", "RR", "DL")
add_pool("yusuf1985_table9_OR_REML", "yusuf1985_table9", "OR", "REML")
add_pool("raudenbush1985_REML", "raudenbush1985", "GEN", "REML")
add_pool("raudenbush1985_REML_knha", "raudenbush1985", "GEN", "REML", test = "knha")
add_pool("raudenbush1985_ML", "raudenbush1985", "GEN", "ML")
add_pool("raudenbush1985_FE", "raudenbush1985", "GEN", "FE")
add_pool("raudenbush1985_k1_REML_knha", "raudenbush1985", "GEN", "REML", test = "knha", rows = 4)
add_pool("raudenbush1985_k1_FE", "raudenbush1985", "GEN", "FE", rows = 4)
add_pool("bangertdrowns2004_REML", "bangertdrowns2004", "GEN", "REML")
add_pool("bangertdrowns2004_REML_knha", "bangertdrowns2004", "GEN", "REML", test = "knha")
add_pool("bangertdrowns2004_ML", "bangertdrowns2004", "GEN", "ML")
add_pool("bangertdrowns2004_DL_knha", "bangertdrowns2004", "GEN", "DL", test = "knha")
add_pool("molloy2014_REML", "molloy2014", "GEN", "REML")
add_pool("molloy2014_HE_knha", "molloy2014", "GEN", "HE", test = "knha")

# ------------------------------------------------------------------ subgroups
# A separate tau^2 per subgroup (one rma per subset, with its test), then the
# fixed-effect test across the subgroup estimates, rma(est, sei = se, method = "FE").
subgroup_cases <- list()
add_subgroup <- function(id, dname, by, method, test = "z") {
  d <- data[[dname]]
  g <- as.character(d[[by]])
  groups <- unique(g)
  per <- lapply(groups, function(x) {
    res <- suppressWarnings(rma(d$yi, d$vi, subset = g == x, method = method, test = test))
    c(list(group = x), fit_summary(res, 95, method))
  })
  est <- sapply(per, function(x) x$estimate)
  se <- sapply(per, function(x) x$se)
  between <- rma(est, sei = se, method = "FE")
  subgroup_cases[[length(subgroup_cases) + 1]] <<- list(
    id = id, data = dname, by = by, method = method, hk = test == "knha",
    yi = d$yi, vi = d$vi, groups = g,
    result = list(groups = per, q_between = num(between$QE),
                  q_between_df = length(groups) - 1, q_between_pval = num(between$QEp)))
}
add_subgroup("raudenbush1985_weeks_REML", "raudenbush1985", "weeks", "REML")
add_subgroup("raudenbush1985_weeks_REML_knha", "raudenbush1985", "weeks", "REML", "knha")
add_subgroup("raudenbush1985_weeks_DL", "raudenbush1985", "weeks", "DL")
add_subgroup("raudenbush1985_tester_REML_knha", "raudenbush1985", "tester", "REML", "knha")

# ------------------------------------------------------------------ meta-regression
metareg_cases <- list()
add_metareg <- function(id, dname, mods, method, test = "z") {
  d <- data[[dname]]
  M <- as.matrix(as.data.frame(d[mods]))
  res <- rma(d$yi, d$vi, mods = M, method = method, test = test)
  ci <- confint(res, control = list(tol = 1e-12))$random
  metareg_cases[[length(metareg_cases) + 1]] <<- list(
    id = id, data = dname, moderators = I(mods), method = method, hk = test == "knha",
    yi = d$yi, vi = d$vi, mods = lapply(d[mods], num),
    result = list(
      coef = num(res$beta), se = num(res$se), stat = num(res$zval), pval = num(res$pval),
      ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), tau2 = num(res$tau2),
      qm = num(res$QM), qm_df = num(res$QMdf[1]), qm_df2 = num(res$QMdf[2]),
      qm_pval = num(res$QMp), qe = num(res$QE), qe_df = res$k - res$p,
      qe_pval = num(res$QEp), i2 = num(res$I2), h2 = num(res$H2),
      r2 = num(if (is.null(res$R2)) NA else res$R2),
      tau2_ci_lb = num(ci["tau^2", "ci.lb"]), tau2_ci_ub = num(ci["tau^2", "ci.ub"]),
      i2_ci_lb = num(ci["I^2(%)", "ci.lb"]), i2_ci_ub = num(ci["I^2(%)", "ci.ub"]),
      h2_ci_lb = num(ci["H^2", "ci.lb"]), h2_ci_ub = num(ci["H^2", "ci.ub"])))
}
add_metareg("molloy2014_meanage_REML", "molloy2014", "meanage", "REML")
add_metareg("molloy2014_meanage_quality_REML_knha", "molloy2014", c("meanage", "quality"),
            "REML", "knha")
add_metareg("molloy2014_quality_ML", "molloy2014", "quality", "ML")
add_metareg("raudenbush1985_weeks_REML", "raudenbush1985", "weeks", "REML")

# ------------------------------------------------------------------ sensitivity
loo_frame <- function(x) {
  x <- as.data.frame(x)
  stat <- if (!is.null(x$tval)) x$tval else x$zval
  list(estimate = num(x$estimate), se = num(x$se), zval = num(stat), pval = num(x$pval),
       ci_lb = num(x$ci.lb), ci_ub = num(x$ci.ub), q = num(x$Q), qp = num(x$Qp),
       tau2 = num(x$tau2), i2 = num(x$I2), h2 = num(x$H2))
}
tf_summary <- function(res) {
  list(k0 = num(res$k0), se_k0 = num(res$se.k0), side = res$side, p_k0 = num(res$p.k0),
       test = res$test, yi = num(res$yi), vi = num(res$vi), fill = as.logical(res$fill),
       estimate = num(res$beta), se = num(res$se), zval = num(res$zval),
       pval = num(res$pval), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
       tau2 = num(res$tau2), q = num(res$QE), i2 = num(res$I2), h2 = num(res$H2))
}
sensitivity <- list()
for (dname in c("bangertdrowns2004", "raudenbush1985")) {
  d <- data[[dname]]
  order_by <- if (dname == "raudenbush1985") d$weeks else d$year
  s <- list()
  for (method in c("REML", "DL")) for (test in c("z", "knha")) {
    key <- paste0(method, if (test == "knha") "_hk" else "")
    fit <- rma(d$yi, d$vi, method = method, test = test)
    cm <- cumul(fit, order = order_by)
    rt <- regtest(fit)
    tf <- trimfill(fit)
    s[[key]] <- list(
      leave1out = loo_frame(leave1out(fit)),
      cumul = c(loo_frame(cm), list(order = order(order_by) - 1L)),
      regtest = list(zval = num(rt$zval), pval = num(rt$pval), df = num(rt$dfs),
                     est = num(rt$est), ci_lb = num(rt$ci.lb), ci_ub = num(rt$ci.ub)),
      trimfill = tf_summary(tf))
  }
  s$order_by <- order_by
  sensitivity[[dname]] <- s
}

# ------------------------------------------------------------------ 2x2 pooling
binary_summary <- function(res) {
  list(estimate = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
       ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), q = num(res$QE), q_pval = num(res$QEp),
       i2 = num(res$I2), h2 = num(res$H2), k = num(res$k), k_yi = num(res$k.yi),
       yi = num(res$yi.f), vi = num(res$vi.f), weights = num(weights(res)))
}
binary <- list()
for (dname in c("yusuf1985_table9", "hahn2001", "lau1992")) {
  t <- data[[dname]]
  b <- list()
  for (m in c("OR", "RR", "RD")) {
    b[[m]] <- binary_summary(rma.mh(ai = t$ai, bi = t$bi, ci = t$ci, di = t$di, measure = m))
  }
  b$PETO <- binary_summary(rma.peto(ai = t$ai, bi = t$bi, ci = t$ci, di = t$di))
  binary[[dname]] <- b
}

out <- list(
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  metafor = as.character(packageVersion("metafor")),
                  metadat = as.character(packageVersion("metadat"))),
  generated_by = "tests/reference/make_reference_metadat.R",
  ll_tol = LL_TOL, data = data, pool = pool_cases, subgroups = subgroup_cases,
  metareg = metareg_cases, sensitivity = sensitivity, binary = binary)

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), out_path)
cat("wrote", out_path, "\n")
