# Reference numbers for the figure tests, from metafor's dat.bcg example.
# Regenerate: cd tests/baseline_images && Rscript metafor_dat_bcg.R > metafor_dat_bcg.json
suppressMessages({library(metafor); library(jsonlite)})
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
dat$label <- paste(dat$author, dat$year, sep = ", ")

fit <- function(yi, vi, labels) {
  r <- rma(yi, vi, method = "REML")
  ci <- confint(r)
  p <- predict(r)
  list(measure = "RR", method = "REML", k = r$k, level = 95, test = "z",
       estimate = as.numeric(r$b), se = r$se, ci_lb = r$ci.lb, ci_ub = r$ci.ub,
       zval = r$zval, tval = NULL, df = NULL, pval = r$pval,
       tau2 = r$tau2, tau2_ci_lb = ci$random["tau^2", "ci.lb"], tau2_ci_ub = ci$random["tau^2", "ci.ub"],
       tau = sqrt(r$tau2), i2 = r$I2, i2_ci_lb = ci$random["I^2(%)", "ci.lb"], i2_ci_ub = ci$random["I^2(%)", "ci.ub"],
       h2 = r$H2, q = r$QE, q_df = r$k - 1, q_pval = r$QEp,
       pi_lb = p$pi.lb, pi_ub = p$pi.ub,
       yi = as.numeric(yi), vi = as.numeric(vi), weights = as.numeric(weights(r)), labels = labels)
}

overall <- fit(dat$yi, dat$vi, dat$label)
groups <- list()
for (g in unique(as.character(dat$alloc))) {
  s <- dat[dat$alloc == g, ]
  groups[[g]] <- fit(s$yi, s$vi, s$label)
}
# Test for subgroup differences as metafor's forest examples do: a fixed-effect
# model over the subgroup estimates.
est <- sapply(groups, function(x) x$estimate); se <- sapply(groups, function(x) x$se)
between <- rma(est, sei = se, method = "FE")

res <- rma(yi, vi, data = dat, method = "REML")
l1o <- leave1out(res)
cum <- cumul(res, order = dat$year)
tf <- trimfill(res)

# The forest plot text as forest(res, atransf = exp, digits = 2) prints it.
z <- qnorm(0.975)
fmt <- function(e, l, u) sprintf("%.2f [%.2f, %.2f]", e, l, u)
forest_text <- list(
  studies = fmt(exp(dat$yi), exp(dat$yi - z * sqrt(dat$vi)), exp(dat$yi + z * sqrt(dat$vi))),
  pooled = fmt(exp(res$b), exp(res$ci.lb), exp(res$ci.ub)))

out <- list(
  command = "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg); rma(yi, vi, method='REML'); forest(res, atransf=exp, digits=2)",
  metafor_version = as.character(packageVersion("metafor")),
  data = list(label = dat$label, year = dat$year, alloc = as.character(dat$alloc),
              tpos = dat$tpos, tneg = dat$tneg, cpos = dat$cpos, cneg = dat$cneg),
  overall = overall, subgroups = groups,
  q_between = between$QE, q_between_df = between$k - 1, q_between_p = between$QEp,
  leave1out = list(label = dat$label, estimate = l1o$estimate, ci_lb = l1o$ci.lb, ci_ub = l1o$ci.ub,
                   i2 = l1o$I2, tau2 = l1o$tau2),
  cumulative = list(label = dat$label[order(dat$year)], estimate = cum$estimate, ci_lb = cum$ci.lb,
                    ci_ub = cum$ci.ub, i2 = cum$I2, tau2 = cum$tau2),
  trimfill = list(k0 = tf$k0, side = tf$side, yi = as.numeric(tf$yi), vi = as.numeric(tf$vi), fill = tf$fill,
                  estimate = as.numeric(tf$b), ci_lb = tf$ci.lb, ci_ub = tf$ci.ub, se = tf$se, tau2 = tf$tau2),
  forest_text = forest_text)
cat(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE))
