# Reference values for the worked example of `review new --example` (tests/test_new_review.py):
# metadat's dat.bcg as a risk ratio (REML and Mantel-Haenszel, subgroups by allocation,
# meta-regression on absolute latitude) and dat.normand1999 as MD and SMD, with metafor's
# defaults. Run from the repository root:
#   Rscript tests/reference/make_reference_example.R
# It rewrites tests/reference/reference_example.json.
suppressMessages({
  library(metafor)
  library(jsonlite)
})

out_path <- file.path("tests", "reference", "reference_example.json")
num <- function(x) if (is.null(x)) NA else unname(as.numeric(x))

pooled <- function(res) {
  out <- list(estimate = num(res$beta), se = num(res$se), ci_lb = num(res$ci.lb),
              ci_ub = num(res$ci.ub), pval = num(res$pval), q = num(res$QE),
              q_pval = num(res$QEp), i2 = num(res$I2), k = num(res$k),
              yi = num(res$yi), weights = num(weights(res)))
  if (inherits(res, "rma.uni")) {
    pr <- predict(res)
    out$tau2 <- num(res$tau2)
    out$pi_lb <- num(pr$pi.lb)
    out$pi_ub <- num(pr$pi.ub)
  }
  out
}

bcg <- dat.bcg
# the example's studies are ordered by year, then key, as the toolkit orders them
bcg$key <- sprintf("bcg%02d", bcg$trial)
bcg <- bcg[order(bcg$year, bcg$key), ]
reml <- rma(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
mh <- rma.mh(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
peto <- rma.peto(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)

groups <- list()
mh_groups <- list()
est <- c(); se <- c(); mh_est <- c(); mh_se <- c()
for (g in sort(unique(bcg$alloc))) {
  sub <- bcg[bcg$alloc == g, ]
  r <- rma(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = sub)
  m <- rma.mh(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = sub)
  groups[[g]] <- list(k = num(r$k), estimate = num(r$beta), ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub))
  mh_groups[[g]] <- list(k = num(m$k), estimate = num(m$beta), ci_lb = num(m$ci.lb), ci_ub = num(m$ci.ub))
  est <- c(est, r$beta); se <- c(se, r$se); mh_est <- c(mh_est, m$beta); mh_se <- c(mh_se, m$se)
}
# test for subgroup differences: fixed-effect Q across the subgroup estimates
between <- rma(est, sei = se, method = "FE")
mh_between <- rma(mh_est, sei = mh_se, method = "FE")

es <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
mr <- rma(yi, vi, mods = ~ ablat, data = es)

nd <- dat.normand1999
md <- rma(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = nd)
smd <- rma(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = nd)

out <- list(
  generated_by = "tests/reference/make_reference_example.R",
  r_version = paste(R.version$major, R.version$minor, sep = "."),
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  TB_RR = pooled(reml),
  TB_RR_MH = pooled(mh),
  TB_OR_PETO = pooled(peto),
  LOS_MD = pooled(md),
  LOS_SMD = pooled(smd),
  subgroups = list(TB_RR = groups, TB_RR_MH = mh_groups),
  subgroup_test = list(
    TB_RR = list(q = num(between$QE), df = num(between$k - 1), pval = num(between$QEp)),
    TB_RR_MH = list(q = num(mh_between$QE), df = num(mh_between$k - 1), pval = num(mh_between$QEp))),
  metareg = list(intercept = num(mr$beta[1]), slope = num(mr$beta[2]), slope_se = num(mr$se[2]),
                 slope_ci_lb = num(mr$ci.lb[2]), slope_ci_ub = num(mr$ci.ub[2]),
                 slope_pval = num(mr$pval[2]), qm = num(mr$QM), qm_pval = num(mr$QMp),
                 tau2 = num(mr$tau2), i2 = num(mr$I2), r2 = num(mr$R2))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), out_path)
cat("wrote", out_path, "\n")
